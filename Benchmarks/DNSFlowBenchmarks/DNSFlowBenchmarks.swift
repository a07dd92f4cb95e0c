// Micro-benchmarks of the agent's hot user-space paths, in the order a DNS transaction takes them:
// ring record → view (question and answer decoding inside), a window of views and flows → records, records →
// JSON or IPFIX. `make microbench` runs them; see bench/README.md.
import Benchmark
import DNSFlowCore
import DNSFlowIPFIX
import DNSFlowProbe

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        maxDuration: .seconds(2), maxIterations: 1_000_000)

    // A busy node's 5 s window: 16,384 views (8,192 transactions, each seen in two namespaces)
    // over 50 client sockets, so 100 flows.
    let window = DNSWindow(events: 16_384, sockets: 50)
    let decoder = DNSEventDecoder()
    let views: [DNSView] = {
        var views: [DNSView] = []
        window.forEachRecord(window.records.indices) { views.append(decoder.view(of: $0)) }
        return views
    }()
    precondition(views.allSatisfy { $0.question != nil }, "every event's question decodes")
    precondition(views.allSatisfy { $0.answers?.addresses.count == 1 }, "every event's answer decodes")

    // `.kilo`: an iteration handles 1,000 items, so throughput and mallocs read per item.
    Benchmark("Ring event decode", configuration: .init(scalingFactor: .kilo)) { benchmark in
        window.forEachRecord(benchmark.scaledIterations) { blackHole(decoder.view(of: $0)) }
    }

    // The question alone, in the same bytes and as the same slice type as the probe decodes it.
    Benchmark("DNSQuestion decode", configuration: .init(scalingFactor: .kilo)) { benchmark in
        window.forEachRecord(benchmark.scaledIterations) { record in
            blackHole(try? DNSQuestion.decode(record[DNSWindow.eventHeaderLength...]))
        }
    }

    // The evictor's work per window: the views joined into lookups, and their records made. Each
    // lookup is one record; its packets are all its flows had, so no flow record is left.
    let assembler = FlowAssembler(nodeName: "worker-3.cluster.example")
    var joiner = StageJoiner()
    precondition(
        assembler.records(flows: window.flows, transactions: joiner.join(views, nowNs: nil)).count == views.count / 2)
    Benchmark("StageJoiner + FlowAssembler window (16,384 views, 100 flows)") { _ in
        var joiner = StageJoiner()
        blackHole(assembler.records(flows: window.flows, transactions: joiner.join(views, nowNs: nil)))
    }

    // The HTTP exporter's batch, encoded into a fresh body as each POST does.
    let records = benchmarkRecords(count: 5_000)
    Benchmark("JSON encode (5,000-record batch)") { _ in
        var body: [UInt8] = []
        FlowRecordJSON.encode(records[...], into: &body)
        blackHole(body)
    }

    // The IPFIX exporter's path: one encoder for the session, messages handed over in place.
    var encoder = IPFIXEncoder()
    Benchmark("IPFIX encode (5,000-record batch)") { _ in
        var octets = 0
        _ = encoder.encode(records, exportTime: 1_763_812_800) { octets += $0.count }
        blackHole(octets)
    }
}

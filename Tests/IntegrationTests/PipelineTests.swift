import DNSFlowCore
import Foundation
import Testing

/// The real `dnsflow collector`, fed by the real agent, queried with `dnsflow flows`.
final class CollectorProcess: @unchecked Sendable {
    let process: BackgroundProcess
    let httpPort: Int
    let ipfixPort: Int
    let db: String

    let token: String?

    /// - Parameter store: the collector's `--store`; nil for a SQLite file of its own.
    init(
        token: String? = nil, httpPort: Int = Int.random(in: 20_000...29_999), ipfixPort: Int? = nil,
        store: String? = nil
    ) async throws {
        self.token = token
        self.httpPort = httpPort
        self.ipfixPort = ipfixPort ?? httpPort + 10_000
        db = "/tmp/dnsflow-test-\(getpid())-\(httpPort).sqlite"
        process = try BackgroundProcess(
            (token.map { "env DNSFLOW_TOKEN=\($0) " } ?? "")
                + "\(AgentProcess.binary) collector --listen 127.0.0.1:\(httpPort) --ipfix 127.0.0.1:\(self.ipfixPort) "
                + (store.map { "--store '\($0)'" } ?? "--db \(db)")
        )
        for _ in 0..<200 {
            if (try? sh("curl -sf http://127.0.0.1:\(httpPort)/healthz")) != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        let status = await process.stop(signal: SIGKILL)
        throw ShellError(command: "dnsflow collector", status: status, stderr: process.stderr)
    }

    var url: String { "http://127.0.0.1:\(httpPort)" }

    /// `dnsflow flows --dns-id <id> --output json`, decoded.
    func flows(dnsId: UInt16) throws -> [FlowRecord] {
        let auth = token.map { " --token \($0)" } ?? ""
        let json = try sh("\(AgentProcess.binary) flows --dns-id \(dnsId) --output json --collector \(url)\(auth)")
        return try FlowRecordJSON.decodePage(Array(json.utf8)).records
    }

    func stop() async {
        await process.stop()
        try? sh("rm -f \(db) \(db)-wal \(db)-shm", check: false)
    }
}

@Suite(.serialized)
struct PipelineTests {
    init() throws {
        try #require(getuid() == 0, "integration tests load BPF programs and make network namespaces: run as root")
    }

    enum Exporter: String, CaseIterable, CustomTestStringConvertible {
        case http, ipfixUDP, ipfixTCP
        var testDescription: String { rawValue }

        func yaml(_ collector: CollectorProcess) -> String {
            switch self {
            case .http: "    - {type: HTTP, http: {url: '\(collector.url)/api/v1/flows'}}"
            case .ipfixUDP:
                "    - {type: IPFIX, ipfix: {targetHost: 127.0.0.1, targetPort: \(collector.ipfixPort), transport: UDP}}"
            case .ipfixTCP:
                "    - {type: IPFIX, ipfix: {targetHost: 127.0.0.1, targetPort: \(collector.ipfixPort), transport: TCP}}"
            }
        }
    }

    @Test("dig's id is found by `dnsflow flows --dns-id` with its rcode and latency", arguments: Exporter.allCases)
    func digToCollector(exporter: Exporter) async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        // Over HTTP the collector wants a token, as the Helm chart sets it up.
        let token = exporter == .http ? "s3cret-\(getpid())" : nil
        let collector = try await CollectorProcess(token: token)
        let agent = try await AgentProcess(
            config: AgentProcess.config(exporters: exporter.yaml(collector)), token: token)
        var digs: [(id: UInt16, status: String)] = []
        for name in ["a.example.test", "missing.example.test"] {
            let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) \(name) A")
            digs.append(try #require(digHeader(output)))
        }
        try await Task.sleep(for: .milliseconds(300))
        _ = try await agent.stop()
        let namespaces = try [lab.client, lab.router, lab.server].map(lab.inode)
        for dig in digs {
            var found: [FlowRecord] = []
            for _ in 0..<100 {  // the collector writes in the background
                found = try collector.flows(dnsId: dig.id).filter { $0.srcAddr.text == lab.clientAddr }
                if !found.isEmpty { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            try #require(found.count == 1, "\(exporter): id \(dig.id): \(found.count) rows in the collector")
            let lookup = found[0]
            #expect(lookup.isTransaction && lookup.dnsFlagsResponseCode?.name.lowercased() == dig.status.lowercased())
            #expect((lookup.dnsLatencyMs ?? 0) > 0 && (lookup.dnsLatencyMs ?? 99) < 50)
            #expect(lookup.srcAddr.text == lab.clientAddr && lookup.nodeName == "test-node")
            #expect(lookup.dnsStages.map(\.netNs) == namespaces, "its stages went through \(exporter)")
        }
        if token != nil {
            let status = try sh("curl -s -o /dev/null -w '%{http_code}' \(collector.url)/api/v1/flows")
            #expect(status == "401", "the collector answered \(status) without the token")
        }
        await collector.stop()
    }

    @Test("the agent's /metrics passes promtool, and a real Prometheus scrapes it")
    func metricsEndpoint() async throws {
        let port = AgentProcess.metricsPort()
        let agent = try await AgentProcess(config: AgentProcess.config(extra: "    metrics: {port: \(port)}"))
        let dir = "/tmp/dnsflow-prom-\(getpid())"
        var prometheus: BackgroundProcess?
        do {
            // The endpoint starts beside the evictor, just after the programs attach.
            let text = try sh(
                "curl -sf --retry 20 --retry-connrefused --retry-delay 0 --retry-max-time 10 http://127.0.0.1:\(port)/metrics"
            )
            #expect(text.contains("dnsflow_dns_latency_seconds_bucket"))
            #expect(text.contains("dnsflow_kernel_events_total{reason=\"flow_map_full\"}"))
            let lint = try sh(
                "curl -sf http://127.0.0.1:\(port)/metrics | promtool check metrics 2>&1; echo status=$?", check: false)
            #expect(lint.hasSuffix("status=0\n"), "promtool: \(lint)")
            #expect(try sh("curl -sf http://127.0.0.1:\(port)/healthz") == "ok\n")

            let promPort = port + 10_000
            try sh("rm -rf \(dir) && mkdir -p \(dir)")
            try """
            global: {scrape_interval: 1s}
            scrape_configs:
              - job_name: dnsflow
                static_configs: [{targets: ['127.0.0.1:\(port)']}]
            """.write(toFile: "\(dir)/prometheus.yml", atomically: true, encoding: .utf8)
            let server = try BackgroundProcess(
                "prometheus --config.file=\(dir)/prometheus.yml --storage.tsdb.path=\(dir)/data --web.listen-address=127.0.0.1:\(promPort)"
            )
            prometheus = server
            let query = "dnsflow_kernel_events_total%7Breason%3D%22packets%22%7D"
            var answer = ""
            for _ in 0..<150 {
                answer = (try? sh("curl -sf 'http://127.0.0.1:\(promPort)/api/v1/query?query=\(query)'")) ?? ""
                if answer.contains("\"result\":[{") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(
                answer.contains("\"result\":[{"),
                "Prometheus never scraped the agent: \(answer) \(server.stderr.suffix(500))")
        } catch {
            Issue.record(error)
        }
        await prometheus?.stop()
        try? sh("rm -rf \(dir)", check: false)
        _ = try await agent.stop()
    }

    @Test("classic tracepoints work too, and a stopped agent leaves no program behind")
    func classicTracepointsAndCleanDetach() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let agent = try await AgentProcess(config: AgentProcess.config(extra: "      tracepoints: classic"))
        #expect(agent.process.stderr.contains("dnsflow.tracepoints=classic"))
        // This agent's programs, from its file descriptors (other agents may run beside the tests).
        let ids = try sh("grep -h '^prog_id:' /proc/\(agent.process.pid)/fdinfo/* | awk '{print $2}' | sort -u")
            .split(separator: "\n").map(String.init)
        #expect(ids.count >= 4, "the agent holds programs \(ids)")
        let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) a.example.test A")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        let dig = try #require(digHeader(output))
        #expect(
            records.contains { $0.dnsId == dig.id && $0.dnsLatencyMs != nil && $0.dnsFlagsResponseCode == "NoError" })
        for id in ids {
            #expect((try? sh("bpftool prog show id \(id)")) == nil, "program \(id) outlived the agent")
        }
    }

    @Test(
        "the build for kernels before 5.12 (queries wait in the hash map, no slots) pairs answers, counts a second sighting and reports timeouts"
    )
    func hashMapPendingTable() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        try await lab.startSilentServer(port: 5353)
        let agent = try await AgentProcess(config: AgentProcess.config(dnsTimeout: "1s", pendingTable: "hash"))
        #expect(agent.process.stderr.contains("dnsflow.pending_table=hash"))
        let answered = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) a.example.test A")
        _ = try lab.run(lab.client, "dig +tries=1 +time=1 -p 5353 @\(lab.serverAddr) lost.example.test A || true")
        try await Task.sleep(for: .seconds(3))
        let records = try await agent.stop()
        let dig = try #require(digHeader(answered))
        let namespaces = try [lab.client, lab.router, lab.server].map(lab.inode)
        // One stage per namespace, as with the slots: the router sees each packet twice (its two
        // interfaces), and its second sighting of the response is a duplicate, not another stage.
        let lookups = records.filter { $0.dnsId == dig.id && $0.srcAddr.text == lab.clientAddr }
        #expect(lookups.count == 1, "a second sighting made another record: \(lookups)")
        #expect(lookups.first?.dnsStages.map(\.netNs) == namespaces)
        #expect(lookups.first?.dnsFlagsResponseCode == "NoError" && lookups.first?.dnsErrno == 0)
        #expect(
            records.contains {
                $0.netNs == namespaces[0] && $0.dnsErrno == DNSErrno.timedOut && $0.dnsName == "lost.example.test"
            })
    }

    @Test("dnsTracking.tcp: false attaches only the tracepoints; UDP DNS is still tracked")
    func withoutDNSOverTCP() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let agent = try await AgentProcess(
            config: AgentProcess.config().replacingOccurrences(
                of: "pendingTable: auto", with: "pendingTable: auto, tcp: false"))
        #expect(agent.process.stderr.contains("dnsflow.dns_over_tcp=false"))
        let programs = try sh("grep -h '^prog_id:' /proc/\(agent.process.pid)/fdinfo/* | awk '{print $2}' | sort -u")
            .split(separator: "\n").map { try sh("bpftool prog show id \($0)") }
        #expect(programs.count == 2 && !programs.contains { $0.contains("cgroup_skb") }, "\(programs)")
        let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) a.example.test A")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        let dig = try #require(digHeader(output))
        #expect(records.contains { $0.dnsId == dig.id && $0.dnsLatencyMs != nil })
    }

    @Test("a bad config exits 2 with one line naming the key")
    func badConfig() async throws {
        let path = "/tmp/dnsflow-bad-\(getpid()).yaml"
        try "spec:\n  agent:\n    ebpf:\n      features: [Bogus]\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let process = try BackgroundProcess("\(AgentProcess.binary) agent --config \(path)")
        let status = await process.stop(signal: 0, timeout: .seconds(10))
        #expect(status == 2)
        let lines = process.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("spec.agent.ebpf.features[0]") && lines[0].contains("Bogus"))
    }
}

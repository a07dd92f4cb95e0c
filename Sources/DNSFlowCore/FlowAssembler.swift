/// Turns one eviction window's flows and DNS views into records.
///
/// Flow counters are counted once, on the flow's first sighting. A flow that carried DNS comes
/// out as one record per transaction view (several transactions on one 5-tuple, or one
/// transaction seen from several namespaces): the first carries the flow's counters, the others
/// zero, so sums stay right and every DNS id is its own record. Each such record names the
/// namespace and interface of its view. A view whose flow is not in this window (sampled out, or
/// evicted in another window; timeouts always) comes out alone, with zero counters.
public struct FlowAssembler: Sendable {
    public var nodeName: String

    public init(nodeName: String) {
        self.nodeName = nodeName
    }

    public func records(flows: [FlowSample], views: [DNSView]) -> [FlowRecord] {
        var responseViews: [FlowKey: [DNSView]] = [:]
        var queryViews: [FlowKey: [DNSView]] = [:]
        for view in views {
            switch view.outcome {
            case .answered, .orphan:
                responseViews[view.key, default: []].append(view)
                queryViews[view.key.reversed, default: []].append(view)
            case .timedOut:
                break  // the query's flow went out in an earlier window
            }
        }

        var records: [FlowRecord] = []
        records.reserveCapacity(flows.count + views.count)
        var placed = Set<DNSView>()
        for flow in flows {
            let plain = record(flow)
            if let answered = responseViews[flow.key] {
                records.append(contentsOf: split(plain, answered, side: .response))
                placed.formUnion(answered)
            } else if let asked = queryViews[flow.key] {
                records.append(contentsOf: split(plain, asked, side: .query))
            } else {
                records.append(plain)
            }
        }
        for view in views where !placed.contains(view) {
            var alone = record(view)
            apply(view, to: &alone, side: view.outcome == .timedOut ? .query : .response)
            records.append(alone)
        }
        return records
    }

    private enum Side { case query, response }

    private func split(_ flow: FlowRecord, _ views: [DNSView], side: Side) -> [FlowRecord] {
        views.sorted { $0.endNs < $1.endNs }.enumerated().map { index, view in
            var record = flow
            if index > 0 {
                record.bytes = 0
                record.packets = 0
            }
            record.netNs = view.observation.netNs
            record.interfaces = [view.observation.interface]
            record.ifDirections = [view.observation.direction]
            apply(view, to: &record, side: side)
            return record
        }
    }

    private func apply(_ view: DNSView, to record: inout FlowRecord, side: Side) {
        record.dnsId = view.id
        record.dnsName = view.question?.name
        record.dnsQType = view.question.map { DNSQueryType.name($0.type) }
        switch (side, view.outcome) {
        case (.query, .timedOut):
            record.dnsFlags = view.flags
            record.dnsErrno = DNSErrno.timedOut
        case (.query, _):
            break  // the query's record carries the id, name and type; the response's the rest
        case (.response, .answered(let latencyNs)):
            record.dnsFlags = view.flags
            record.dnsFlagsResponseCode = DNSResponseCode.name(UInt8(view.flags & 0x0f))
            // Microseconds, exactly: 213_456 ns → 0.213 ms.
            record.dnsLatencyMs = Double(latencyNs / 1_000) / 1_000
            record.dnsErrno = DNSErrno.none
        case (.response, _):
            record.dnsFlags = view.flags
            record.dnsFlagsResponseCode = DNSResponseCode.name(UInt8(view.flags & 0x0f))
            record.dnsErrno = DNSErrno.noQuery
        }
    }

    private func record(_ flow: FlowSample) -> FlowRecord {
        FlowRecord(
            srcAddr: flow.key.srcAddr.description, dstAddr: flow.key.dstAddr.description,
            srcPort: flow.key.srcPort, dstPort: flow.key.dstPort, proto: flow.key.proto, etype: flow.key.etype,
            bytes: flow.bytes, packets: flow.packets,
            timeFlowStartMs: flow.startNs / 1_000_000, timeFlowEndMs: flow.endNs / 1_000_000,
            interfaces: flow.observations.map(\.interface), ifDirections: flow.observations.map(\.direction),
            flags: flow.tcpFlags, netNs: flow.observations.first?.netNs ?? 0, nodeName: nodeName
        )
    }

    private func record(_ view: DNSView) -> FlowRecord {
        FlowRecord(
            srcAddr: view.key.srcAddr.description, dstAddr: view.key.dstAddr.description,
            srcPort: view.key.srcPort, dstPort: view.key.dstPort, proto: view.key.proto, etype: view.key.etype,
            bytes: 0, packets: 0,
            timeFlowStartMs: view.startNs / 1_000_000, timeFlowEndMs: view.endNs / 1_000_000,
            interfaces: [view.observation.interface], ifDirections: [view.observation.direction],
            flags: 0, netNs: view.observation.netNs, nodeName: nodeName
        )
    }
}

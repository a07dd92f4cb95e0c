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
        // Views by the flow they belong to, as indices: views are large, and hashing them whole
        // (names and all) cost more than the rest of the window.
        var responseViews: [FlowKey: [Int]] = [:]
        var queryViews: [FlowKey: [Int]] = [:]
        // Views are read in place (views[index].field): a copy retains and releases its strings.
        for index in views.indices {
            switch views[index].outcome {
            case .answered, .orphan:
                responseViews[views[index].key, default: []].append(index)
                queryViews[views[index].key.reversed, default: []].append(index)
            case .timedOut:
                break  // the query's flow went out in an earlier window
            }
        }

        var records: [FlowRecord] = []
        records.reserveCapacity(flows.count + 2 * views.count)  // a view can have both its flows here
        var placed = [Bool](repeating: false, count: views.count)
        var shared = SharedFields()
        views.withUnsafeBufferPointer { views in
            for flow in flows {
                let plain = record(flow, &shared)
                if let answered = responseViews[flow.key] {
                    split(plain, answered, of: views, side: .response, into: &records, &shared)
                    for index in answered { placed[index] = true }
                } else if let asked = queryViews[flow.key] {
                    split(plain, asked, of: views, side: .query, into: &records, &shared)
                } else {
                    records.append(plain)
                }
            }
            for index in views.indices where !placed[index] {
                let view = views.baseAddress! + index
                records.append(record(view, side: view.pointee.outcome == .timedOut ? .query : .response, &shared))
            }
        }
        return records
    }

    /// Views without their flows, when a window has more than can wait for them: each answered
    /// or orphan view gives its response's record and its query's (id, name and type, as a flow
    /// record would), a timeout its query's; all with zero counters.
    public func records(views: [DNSView]) -> [FlowRecord] {
        var records: [FlowRecord] = []
        records.reserveCapacity(2 * views.count)
        var shared = SharedFields()
        views.withUnsafeBufferPointer { views in
            for index in views.indices {
                let view = views.baseAddress! + index
                if view.pointee.outcome == .timedOut {
                    records.append(record(view, side: .query, &shared))
                    continue
                }
                records.append(record(view, side: .response, &shared))
                records.append(record(view, side: .query, &shared, key: view.pointee.key.reversed))
            }
        }
        return records
    }

    private enum Side { case query, response }

    private func split(
        _ flow: FlowRecord, _ indices: [Int], of views: UnsafeBufferPointer<DNSView>, side: Side,
        into records: inout [FlowRecord], _ shared: inout SharedFields
    ) {
        for (order, index) in indices.sorted(by: { views[$0].endNs < views[$1].endNs }).enumerated() {
            let view = views.baseAddress! + index
            var record = flow
            if order > 0 {
                record.bytes = 0
                record.packets = 0
            }
            record.netNs = view.pointee.observation.netNs
            (record.interfaces, record.ifDirections) = shared.sighting(view.pointee.observation)
            apply(view, to: &record, side: side)
            records.append(record)
        }
    }

    // Views through pointers: `views[index]` as an argument was copied whole (a retain and a
    // release of each string) where the compiler cannot tell the array stays unchanged.
    private func apply(_ view: UnsafePointer<DNSView>, to record: inout FlowRecord, side: Side) {
        record.dnsId = view.pointee.id
        record.dnsName = view.pointee.question?.name
        record.dnsQType = view.pointee.question.map { DNSQueryType.name($0.type) }
        switch (side, view.pointee.outcome) {
        case (.query, .timedOut):
            record.dnsFlags = view.pointee.flags
            record.dnsErrno = DNSErrno.timedOut
        case (.query, _):
            break  // the query's record carries the id, name and type; the response's the rest
        case (.response, .answered(let latencyNs)):
            record.dnsFlags = view.pointee.flags
            record.dnsFlagsResponseCode = DNSResponseCode.name(UInt8(view.pointee.flags & 0x0f))
            // Microseconds, exactly: 213_456 ns → 0.213 ms.
            record.dnsLatencyMs = Double(latencyNs / 1_000) / 1_000
            record.dnsErrno = DNSErrno.none
        case (.response, _):
            record.dnsFlags = view.pointee.flags
            record.dnsFlagsResponseCode = DNSResponseCode.name(UInt8(view.pointee.flags & 0x0f))
            record.dnsErrno = DNSErrno.noQuery
        }
    }

    private func record(_ flow: FlowSample, _ shared: inout SharedFields) -> FlowRecord {
        FlowRecord(
            srcAddr: shared.text(flow.key.srcAddr), dstAddr: shared.text(flow.key.dstAddr),
            srcPort: flow.key.srcPort, dstPort: flow.key.dstPort, proto: flow.key.proto, etype: flow.key.etype,
            bytes: flow.bytes, packets: flow.packets,
            timeFlowStartMs: flow.startNs / 1_000_000, timeFlowEndMs: flow.endNs / 1_000_000,
            interfaces: flow.observations.map(\.interface), ifDirections: flow.observations.map(\.direction),
            flags: flow.tcpFlags, netNs: flow.observations.first?.netNs ?? 0, nodeName: nodeName
        )
    }

    /// A view's record on its own, with zero counters: under `key`, its response's flow by default.
    private func record(
        _ view: UnsafePointer<DNSView>, side: Side, _ shared: inout SharedFields, key: FlowKey? = nil
    ) -> FlowRecord {
        let key = key ?? view.pointee.key
        let sighting = shared.sighting(view.pointee.observation)
        var record = FlowRecord(
            srcAddr: shared.text(key.srcAddr), dstAddr: shared.text(key.dstAddr),
            srcPort: key.srcPort, dstPort: key.dstPort, proto: key.proto, etype: key.etype,
            bytes: 0, packets: 0,
            timeFlowStartMs: view.pointee.startNs / 1_000_000, timeFlowEndMs: view.pointee.endNs / 1_000_000,
            interfaces: sighting.interfaces, ifDirections: sighting.directions,
            flags: 0, netNs: view.pointee.observation.netNs, nodeName: nodeName
        )
        apply(view, to: &record, side: side)
        return record
    }
}

/// Fields shared by the records of one call: a busy resolver's address and a namespace's
/// interface are in most records, and shared storage costs a retain where a new string or array
/// costs an allocation (and its memory while the record waits in an exporter's buffer).
private struct SharedFields {
    private var addresses = Memo<IPAddress, String>()
    private var sightings = Memo<Observation, (interfaces: [String], directions: [UInt8])>()

    mutating func text(_ address: IPAddress) -> String {
        addresses.value(for: address) { $0.description }
    }

    mutating func sighting(_ observation: Observation) -> (interfaces: [String], directions: [UInt8]) {
        sightings.value(for: observation) { (interfaces: [$0.interface], directions: [$0.direction]) }
    }
}

/// Values made once per key, with the last two keys looked up in front of the dictionary: records
/// come in pairs (a view's query and response, a transaction's two namespaces), so most lookups
/// end there without hashing.
private struct Memo<Key: Hashable, Value> {
    private var made: [Key: Value] = [:]
    private var newer: (key: Key, value: Value)?
    private var older: (key: Key, value: Value)?

    mutating func value(for key: Key, make: (Key) -> Value) -> Value {
        if let newer, newer.key == key { return newer.value }
        if let older, older.key == key { return older.value }
        let value: Value
        if let known = made[key] {
            value = known
        } else {
            value = make(key)
            made[key] = value
        }
        older = newer
        newer = (key, value)
        return value
    }
}

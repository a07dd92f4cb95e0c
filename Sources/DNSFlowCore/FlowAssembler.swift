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
        var sightings = Sightings()
        views.withUnsafeBufferPointer { views in
            for flow in flows {
                let plain = record(flow, &sightings)
                if let answered = responseViews[flow.key] {
                    split(plain, answered, of: views, side: .response, into: &records, &sightings)
                    for index in answered { placed[index] = true }
                } else if let asked = queryViews[flow.key] {
                    split(plain, asked, of: views, side: .query, into: &records, &sightings)
                } else {
                    records.append(plain)
                }
            }
            for index in views.indices where !placed[index] {
                let view = views.baseAddress! + index
                records.append(record(view, side: view.pointee.outcome == .timedOut ? .query : .response, &sightings))
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
        var sightings = Sightings()
        views.withUnsafeBufferPointer { views in
            for index in views.indices {
                let view = views.baseAddress! + index
                if view.pointee.outcome == .timedOut {
                    records.append(record(view, side: .query, &sightings))
                    continue
                }
                records.append(record(view, side: .response, &sightings))
                records.append(record(view, side: .query, &sightings, key: view.pointee.key.reversed))
            }
        }
        return records
    }

    private enum Side { case query, response }

    private func split(
        _ flow: FlowRecord, _ indices: [Int], of views: UnsafeBufferPointer<DNSView>, side: Side,
        into records: inout [FlowRecord], _ sightings: inout Sightings
    ) {
        for (order, index) in indices.sorted(by: { views[$0].endNs < views[$1].endNs }).enumerated() {
            let view = views.baseAddress! + index
            var record = flow
            if order > 0 {
                record.bytes = 0
                record.packets = 0
            }
            record.netNs = view.pointee.observation.netNs
            (record.interfaces, record.ifDirections) = sightings.of(view.pointee.observation)
            apply(view, to: &record, side: side)
            records.append(record)
        }
    }

    // Views through pointers: `views[index]` as an argument was copied whole (a retain and a
    // release of each string) where the compiler cannot tell the array stays unchanged.
    private func apply(_ view: UnsafePointer<DNSView>, to record: inout FlowRecord, side: Side) {
        record.dnsId = view.pointee.id
        record.dnsName = view.pointee.question?.name
        record.dnsQType = view.pointee.question?.type
        switch (side, view.pointee.outcome) {
        case (.query, .timedOut):
            record.dnsFlags = view.pointee.flags
            record.dnsErrno = DNSErrno.timedOut
        case (.query, _):
            break  // the query's record carries the id, name and type; the response's the rest
        case (.response, .answered(let latencyNs)):
            record.dnsFlags = view.pointee.flags
            record.dnsFlagsResponseCode = DNSResponseCode(flags: view.pointee.flags)
            // Whole microseconds: 213_456 ns → 0.213 ms.
            record.dnsLatencyNs = latencyNs / 1_000 * 1_000
            record.dnsErrno = DNSErrno.none
        case (.response, _):
            record.dnsFlags = view.pointee.flags
            record.dnsFlagsResponseCode = DNSResponseCode(flags: view.pointee.flags)
            record.dnsErrno = DNSErrno.noQuery
        }
    }

    private func record(_ flow: FlowSample, _ sightings: inout Sightings) -> FlowRecord {
        FlowRecord(
            srcAddr: flow.key.srcAddr, dstAddr: flow.key.dstAddr,
            srcPort: flow.key.srcPort, dstPort: flow.key.dstPort, proto: flow.key.proto, etype: flow.key.etype,
            bytes: flow.bytes, packets: flow.packets,
            timeFlowStartMs: flow.startNs / 1_000_000, timeFlowEndMs: flow.endNs / 1_000_000,
            interfaces: flow.observations.map(\.interface), ifDirections: flow.observations.map(\.direction),
            flags: flow.tcpFlags, netNs: flow.observations.first?.netNs ?? 0, nodeName: nodeName
        )
    }

    /// A view's record on its own, with zero counters: under `key`, its response's flow by default.
    private func record(
        _ view: UnsafePointer<DNSView>, side: Side, _ sightings: inout Sightings, key: FlowKey? = nil
    ) -> FlowRecord {
        let key = key ?? view.pointee.key
        let sighting = sightings.of(view.pointee.observation)
        var record = FlowRecord(
            srcAddr: key.srcAddr, dstAddr: key.dstAddr,
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

/// The one-interface lists of a call's view records, made once per sighting: a namespace's
/// interface is in most records, and a shared array costs a retain where a new one costs an
/// allocation (and its memory while the record waits in an exporter's buffer).
private struct Sightings {
    private var made = Memo<Observation, (interfaces: [String], directions: [UInt8])>()

    mutating func of(_ observation: Observation) -> (interfaces: [String], directions: [UInt8]) {
        made.value(for: observation) { (interfaces: [$0.interface], directions: [$0.direction]) }
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

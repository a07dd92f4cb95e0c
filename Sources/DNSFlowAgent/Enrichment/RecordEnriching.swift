import DNSFlowCore

/// Adds what the kernel does not know to a window's records before they are exported: names for
/// namespaces, containers and pods, and the names flows were resolved from. Runs on the evictor's
/// task, once per window; never on the packet path.
public protocol RecordEnriching: Sendable {
    func enrich(_ records: inout [FlowRecord])
}

import DNSFlowCore
import ServiceLifecycle

/// A destination for flow records. The evictor hands records over with `enqueue`, which never
/// waits: an exporter buffers up to its bound and drops (and counts) the oldest beyond it, so a
/// slow or dead receiver never slows the node. `run()` delivers the buffer until shutdown, then
/// flushes what is left.
public protocol FlowExporter: Service {
    /// A short name for logs and metric labels ("http", "ipfix", "stdout").
    var name: String { get }
    func enqueue(_ records: [FlowRecord])
}

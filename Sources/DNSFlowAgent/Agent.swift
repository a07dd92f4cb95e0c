import AsyncHTTPClient
import DNSFlowCore
import DNSFlowProbe
import Logging
import ServiceLifecycle

/// The per-node agent: the BPF probe, its evictor and the exporters, as services for one group.
public struct Agent: Sendable {
    public let probe: BPFProbe
    public let services: [any Service]

    /// Loads and attaches the BPF program; the services start exporting when run.
    public init(config: AgentConfig, nodeName: String, extraExporters: [any FlowExporter] = [], logger: Logger) throws {
        var exporters: [any FlowExporter] = extraExporters
        for exporter in config.exporters {
            switch exporter {
            case .http(let http): exporters.append(HTTPExporter(config: http, logger: logger))
            case .ipfix(let ipfix): exporters.append(IPFIXExporter(config: ipfix, logger: logger))
            case .stdout: exporters.append(StdoutExporter())
            }
        }
        probe = try BPFProbe(settings: config.probeSettings, logger: logger)
        let evictor = FlowEvictor(probe: probe, config: config, nodeName: nodeName, exporters: exporters, logger: logger)
        // A group shuts down in reverse order: the evictor flushes first, then the exporters
        // deliver what it flushed.
        services = exporters + [evictor]
    }
}

// swift-tools-version: 6.3;(experimentalCGen)
// experimentalCGen: the build plugin generates the BPF skeleton header into the CBPF C target.
import PackageDescription

let package = Package(
    name: "dnsflow",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dnsflow", targets: ["dnsflow"]),
        // For the micro-benchmarks' package (Benchmarks/), which reaches targets only through products.
        .library(name: "DNSFlowCore", targets: ["DNSFlowCore"]),
        .library(name: "DNSFlowProbe", targets: ["DNSFlowProbe"]),
        .library(name: "DNSFlowIPFIX", targets: ["DNSFlowIPFIX"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Gzip and deflate request bodies inflated in place, with a size limit.
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        // TLS to the Kubernetes API server: its CA and client certificates (AsyncHTTPClient's own TLS).
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // dnstap's protobuf messages (code generated once from dnstap.proto: scripts/gen-dnstap-proto.sh).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // libbpf (Debian libbpf-dev, libelf-dev), the structs shared with bpf/dnsflow.h, the generated
        // skeleton (its object embedded) and the kernel feature probes.
        .target(
            name: "CBPF",
            linkerSettings: [.linkedLibrary("bpf"), .linkedLibrary("elf"), .linkedLibrary("z")],
            plugins: ["BPFObjectPlugin"]
        ),

        // glibc's malloc tuning, for the agent's memory policy (DNSFlowAgent's ProcessMemory).
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),

        // Compiles bpf/*.bpf.c with the toolchain's clang and generates its skeleton with bpftool.
        .executableTarget(name: "BPFEmbedTool", path: "Plugins/BPFEmbedTool"),
        .plugin(name: "BPFObjectPlugin", capability: .buildTool(), dependencies: ["BPFEmbedTool"]),

        .target(name: "DNSFlowCore"),
        // The strict YAML reader both configs use: every error names its key path.
        .target(name: "DNSFlowConfig", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(
            name: "DNSFlowProbe",
            dependencies: [
                "CBPF", "DNSFlowCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "DNSFlowIPFIX", dependencies: ["DNSFlowCore"]),
        .target(
            name: "DNSFlowAgent",
            dependencies: [
                "DNSFlowCore", "DNSFlowProbe", "DNSFlowIPFIX", "DNSFlowConfig", "CMalloc",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(
            name: "DNSFlowStore",
            dependencies: [
                "DNSFlowCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The SQLite C API, to bind inserts without GRDB's per-value boxing.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // ClickHouse's HTTP interface.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "DNSFlowCollector",
            dependencies: [
                "DNSFlowCore", "DNSFlowStore", "DNSFlowIPFIX", "DNSFlowConfig",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            resources: [.copy("Page")]
        ),
        .executableTarget(
            name: "dnsflow",
            dependencies: [
                "DNSFlowAgent", "DNSFlowCollector", "DNSFlowConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),

        // Records and tools (headless Chromium) the tests of several modules share.
        .target(
            name: "DNSFlowTestSupport",
            dependencies: ["DNSFlowCore", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "Tests/DNSFlowTestSupport"
        ),
        // An HTTPS server that replays recorded Kubernetes API answers: no kube-apiserver runs here.
        .target(
            name: "KubernetesReplay",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/KubernetesReplay"
        ),
        .testTarget(name: "DNSFlowCoreTests", dependencies: ["DNSFlowCore", "DNSFlowTestSupport"]),
        .testTarget(name: "DNSFlowConfigTests", dependencies: ["DNSFlowConfig"]),
        .testTarget(
            name: "DNSFlowProbeTests",
            dependencies: ["DNSFlowProbe", "DNSFlowCore", "CBPF", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "DNSFlowIPFIXTests", dependencies: ["DNSFlowIPFIX", "DNSFlowCore"]),
        .testTarget(
            name: "DNSFlowAgentTests",
            dependencies: [
                "DNSFlowAgent", "DNSFlowCore", "DNSFlowIPFIX", "DNSFlowConfig", "DNSFlowProbe", "KubernetesReplay",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "DNSFlowStoreTests",
            dependencies: [
                "DNSFlowStore", "DNSFlowCore", "DNSFlowTestSupport",
                // `FlowQuerying`: what the query API reads, from either store.
                "DNSFlowCollector",
                // To build a store at an old schema version.
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "DNSFlowCollectorTests",
            dependencies: [
                "DNSFlowCollector", "DNSFlowStore", "DNSFlowCore", "DNSFlowTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "dnsflowTests",
            dependencies: [
                "dnsflow", "DNSFlowCore", "DNSFlowTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Loads the real BPF program as root and drives real DNS servers in network namespaces.
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["DNSFlowCore", "dnsflow", "DNSFlowTestSupport", "KubernetesReplay"]),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version: 6.1
// The micro-benchmarks (`make microbench`). A package of its own so that the main package neither
// resolves nor builds ordo-one/benchmark: `swift build` and `make test` never see it.
import PackageDescription

let package = Package(
    name: "DNSFlowBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        // Named, because a path dependency's identity is otherwise its folder's name (a clone's).
        .package(name: "dnsflow", path: ".."),
        // Only the malloc interposer: it counts allocations without jemalloc. The default traits
        // also pull in a Swift 6.3 runtime interposer package this machine does not have.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The plugin runs executable targets whose folder sits in a folder named Benchmarks.
        .executableTarget(
            name: "DNSFlowBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DNSFlowCore", package: "dnsflow"),
                .product(name: "DNSFlowProbe", package: "dnsflow"),
                .product(name: "DNSFlowIPFIX", package: "dnsflow"),
            ],
            path: "DNSFlowBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)

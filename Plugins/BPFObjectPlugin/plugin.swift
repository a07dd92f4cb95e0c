import Foundation
import PackagePlugin

/// Compiles `bpf/<name>.bpf.c` with the toolchain's clang and generates its libbpf skeleton
/// (`bpftool gen skeleton`) into the target's generated `include/`, so that `swift build` is the
/// only build step and the binary carries its BPF object.
@main
struct BPFObjectPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let bpfDirectory = context.package.directoryURL.appending(path: "bpf")
        let files = try FileManager.default.contentsOfDirectory(at: bpfDirectory, includingPropertiesForKeys: nil)
        let headers = files.filter { $0.pathExtension == "h" }
        let bpftool = try Self.bpftool()
        return try files.filter { $0.lastPathComponent.hasSuffix(".bpf.c") }.map { source in
            let name = source.lastPathComponent.replacingOccurrences(of: ".bpf.c", with: "")
            // Public headers of a C target go to "include" of the plugin's output directory.
            let skeleton = context.pluginWorkDirectoryURL.appending(path: "include/\(name).skel.h")
            // A translation unit of the target that includes the skeleton: it orders the
            // generation before the target's compilation.
            let unit = context.pluginWorkDirectoryURL.appending(path: "\(name).skel.c")
            return .buildCommand(
                displayName: "Compiling BPF program \(source.lastPathComponent) and its skeleton",
                executable: try context.tool(named: "BPFEmbedTool").url,
                arguments: [
                    try context.tool(named: "clang").url.path(),
                    try context.tool(named: "llvm-objcopy").url.path(),
                    bpftool.path(), source.path(), skeleton.path(), unit.path(), name,
                ],
                inputFiles: [source] + headers,
                outputFiles: [skeleton, unit]
            )
        }
    }

    /// bpftool is a system tool (Debian's `bpftool` package), not the toolchain's: found on PATH,
    /// or in /usr/sbin, which a user's PATH often lacks.
    static func bpftool() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin"]
        for directory in directories where FileManager.default.isExecutableFile(atPath: "\(directory)/bpftool") {
            return URL(fileURLWithPath: "\(directory)/bpftool")
        }
        throw PluginError.noBPFTool
    }

    enum PluginError: Error, CustomStringConvertible {
        case noBPFTool

        var description: String { "bpftool not found on PATH nor in /usr/sbin: install it (make deps)" }
    }
}

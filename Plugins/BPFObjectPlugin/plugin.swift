import Foundation
import PackagePlugin

/// Compiles `bpf/<name>.bpf.c` with the toolchain's clang and embeds the stripped object in the
/// target as a Swift source file, so that `swift build` is the only build step and the binary
/// carries its BPF program.
@main
struct BPFObjectPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let bpfDirectory = context.package.directoryURL.appending(path: "bpf")
        let files = try FileManager.default.contentsOfDirectory(at: bpfDirectory, includingPropertiesForKeys: nil)
        let headers = files.filter { $0.pathExtension == "h" }
        return try files.filter { $0.lastPathComponent.hasSuffix(".bpf.c") }.map { source in
            let name = source.lastPathComponent.replacingOccurrences(of: ".bpf.c", with: "")
            let output = context.pluginWorkDirectoryURL.appending(path: "BPFObject_\(name).swift")
            return .buildCommand(
                displayName: "Compiling BPF program \(source.lastPathComponent)",
                executable: try context.tool(named: "BPFEmbedTool").url,
                arguments: [
                    try context.tool(named: "clang").url.path(),
                    try context.tool(named: "llvm-objcopy").url.path(),
                    source.path(), output.path(), name,
                ],
                inputFiles: [source] + headers,
                outputFiles: [output]
            )
        }
    }
}

import Foundation

/// Chromium without a window: loads a URL to completion and dumps its DOM or a screenshot.
public enum HeadlessChromium {
    public struct NotInstalled: Error, CustomStringConvertible {
        public let description =
            "Chromium not found: install it with `apt-get install -y chromium` (Debian 12) to test the page"
    }

    public static func path() throws -> String {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw NotInstalled()
    }

    /// Where tests keep what they saw: `.build/artifacts` under the package, never committed.
    public static func artifacts(_ name: String, file: String = #filePath) throws -> URL {
        var root = URL(fileURLWithPath: file)
        while root.path != "/",
            !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path)
        {
            root.deleteLastPathComponent()
        }
        let folder = root.appendingPathComponent(".build/artifacts")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: url)
        return url
    }

    /// The DOM of `url` once its scripts have settled (`--dump-dom`).
    public static func dom(_ url: String, window: String = "1280,900") async throws -> String {
        try await run(["--window-size=\(window)", "--dump-dom", url])
    }

    /// A PNG of `url` at `window` (`width,height`) pixels.
    public static func screenshot(_ url: String, to file: URL, window: String = "1280,900") async throws {
        _ = try await run(["--screenshot=\(file.path)", "--window-size=\(window)", url])
    }

    /// Runs Chromium to completion and returns its standard output. Timers run on virtual time, which waits for
    /// network requests, so a page's fetches finish before the dump.
    ///
    /// Never blocks a concurrency thread: a collector under test answers Chromium on those same threads.
    public static func run(_ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path())
        process.arguments =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--virtual-time-budget=10000", "--timeout=60000",
                // Chromium's own lookups (updates, safe browsing) would leave the machine and show
                // up among the agent's records: it resolves nothing, and pages use addresses.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pings",
            ] + arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        try handle.close()
        return try String(contentsOf: output, encoding: .utf8)
    }
}

/// What the page's dumped DOM shows.
public enum PageDOM {
    /// Each lookup row's value of `attribute` (`data-dns-id`, `data-rcode`), top to bottom.
    public static func lookupRows(_ dom: String, _ attribute: String) -> [String] {
        dom.components(separatedBy: "<tr class=\"lookup\"").dropFirst().compactMap { row in
            row.components(separatedBy: "\(attribute)=\"").dropFirst().first?.components(separatedBy: "\"").first
        }
    }
}

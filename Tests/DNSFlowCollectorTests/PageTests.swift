import DNSFlowCore
import DNSFlowStore
import DNSFlowTestSupport
import Foundation
import Testing

@testable import DNSFlowCollector

/// Loads the Network Traffic page in headless Chromium against a live collector.
@Suite(.serialized) struct PageTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func chromium() throws -> String {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw TestFailure(
            "Chromium not found: install it with `apt-get install -y chromium` (Debian 12) to test the page")
    }

    /// Runs Chromium to completion and returns its standard output.
    ///
    /// Never blocks a concurrency thread: the collector under test answers Chromium on those same threads.
    static func runChromium(_ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try chromium())
        process.arguments =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--virtual-time-budget=5000", "--timeout=30000",
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

    static func sampleFlows() -> [FlowRecord] {
        let now = FlowStore.nowMs()
        let names = [
            "api.example.test", "www.example.test", "cdn.example.test", "db.internal.test", "mail.example.test",
        ]
        let rcodes: [DNSResponseCode] = ["NoError", "NoError", "NoError", "NXDomain", "ServFail", "Refused"]
        return (0..<120).map { (i: Int) -> FlowRecord in
            let latency: Double? = i % 17 == 0 ? nil : Double((i * 37) % 300) / 7 + 0.25
            let id: UInt16 = i == 7 ? 4242 : UInt16(1000 + i)
            return dnsRecord(
                id: id, name: names[i % names.count], rcode: rcodes[i % rcodes.count], latency: latency,
                endMs: now - Int64(i) * 1500, src: IPAddress(ipv4: 10, 0, UInt8(i % 3), UInt8(10 + i % 7))
            )
        }
    }

    @Test func pageShowsTheFlowsOfTheDNSIdInTheURL() async throws {
        _ = try Self.chromium()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await withLiveCollector(in: dir) { collector, port in
            collector.ingest(Self.sampleFlows())
            try await waitUntilWritten(collector, 120)
            let url = "http://127.0.0.1:\(port)/?dnsId=4242"
            let dom = try await Self.runChromium(["--dump-dom", url])
            #expect(dom.contains("data-dns-id=\"4242\""), "the row with DNS id 4242 is in the table")
            #expect(!dom.contains("data-dns-id=\"1000\""), "other ids are filtered out")
            #expect(dom.contains("<svg"), "the charts are drawn")

            let artifacts = Self.packageRoot.appendingPathComponent("artifacts")
            try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
            let screenshot = artifacts.appendingPathComponent("page.png")
            try? FileManager.default.removeItem(at: screenshot)
            _ = try await Self.runChromium([
                "--screenshot=\(screenshot.path)", "--window-size=1400,900", "http://127.0.0.1:\(port)/",
            ])
            #expect(FileManager.default.fileExists(atPath: screenshot.path))
        }
    }

    @Test func aLookupIsOneRowWithItsLatencyProcessAndAnswers() async throws {
        _ = try Self.chromium()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await withLiveCollector(in: dir) { collector, port in
            let now = FlowStore.nowMs()
            collector.ingest([
                SampleRecords.dnatLookup(id: 4242, endMs: now), SampleRecords.namedConnection(endMs: now),
            ])
            try await waitUntilWritten(collector, 2)
            let lookups = try await Self.runChromium(["--dump-dom", "http://127.0.0.1:\(port)/?dnsId=4242"])
            #expect(lookups.components(separatedBy: "data-record-type=\"dnsTransaction\"").count == 2, "one row")
            #expect(lookups.contains("10.96.0.10:53 → 10.0.2.53:5353"), "the server, and after NAT")
            #expect(lookups.contains(">0.713<") && lookups.contains("client eth0 0.713 ms"), "latency and stages")
            #expect(lookups.contains(">dig<") && lookups.contains(">alias.example.test, 10.9.9.9, fd00::9<"))
            let flows = try await Self.runChromium(["--dump-dom", "http://127.0.0.1:\(port)/?recordType=flow"])
            #expect(
                flows.contains("data-record-type=\"flow\"") && !flows.contains("data-record-type=\"dnsTransaction\""))
            #expect(flows.contains(">web.example.test<"), "the name the flow's destination was resolved from")
        }
    }
}

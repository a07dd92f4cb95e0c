import DNSFlowCore
import Foundation
import Logging
import Testing

@testable import DNSFlowProbe

/// The real programs on the real kernel: each build loads (the verifier's verdict) and the views
/// of a dig between two namespaces carry who asked, what it answered and what its packets weighed.
/// Root only: skipped otherwise.
@Suite(.serialized, .enabled(if: getuid() == 0, "loads BPF programs and makes network namespaces: run as root"))
struct BPFProbeTests {
    struct Build: CustomTestStringConvertible, Sendable {
        var tracepoints: ProbeSettings.Tracepoints
        var pendingTable: ProbeSettings.PendingTable
        var answers: Bool
        var testDescription: String { "\(tracepoints), \(pendingTable), answers \(answers ? "on" : "off")" }
    }

    static let builds = [
        Build(tracepoints: .btf, pendingTable: .slots, answers: true),
        Build(tracepoints: .btf, pendingTable: .hash, answers: true),
        Build(tracepoints: .classic, pendingTable: .slots, answers: true),
        Build(tracepoints: .classic, pendingTable: .hash, answers: true),
        Build(tracepoints: .btf, pendingTable: .slots, answers: false),
    ]

    /// Runs `body` with the probe attached, then stops it.
    static func withProbe(_ build: Build, _ body: (BPFProbe) async throws -> Void) async throws {
        let cgroupRoot = try #require(BPFProbe.findCgroup2Root(), "no cgroup v2 mount")
        let settings = ProbeSettings(
            answers: build.answers, dnsPorts: [53, 5300], tracepoints: build.tracepoints,
            pendingTable: build.pendingTable, cgroupRoot: cgroupRoot)
        let probe = try BPFProbe(settings: settings, logger: Logger(label: "dnsflow.test"))
        #expect(probe.tracepoints == build.tracepoints && probe.pendingTable == build.pendingTable)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await probe.run() }
            defer { group.cancelAll() }
            for _ in 0..<500 where !probe.isAttached { try await Task.sleep(for: .milliseconds(10)) }
            try #require(probe.isAttached, "the probe did not attach")
            try await body(probe)
        }
    }

    /// The views of `id` drained so far.
    static func views(of id: UInt16, from probe: BPFProbe) async throws -> [DNSView] {
        try await Task.sleep(for: .milliseconds(200))
        probe.drainEvents()
        return probe.takeViews().filter { $0.id == id }
    }

    @Test(
        "dig over UDP and TCP: the client's view says dig asked from its cgroup and what dnsmasq answered",
        arguments: builds)
    func digBetweenNamespaces(build: Build) async throws {
        let cgroupRoot = try #require(BPFProbe.findCgroup2Root())
        let lab = try ProbeLab(cgroupRoot: cgroupRoot)
        defer { lab.teardown() }
        let (clientNs, serverNs) = (try lab.inode(lab.client), try lab.inode(lab.server))
        try await Self.withProbe(build) { probe in
            for transport in ["+notcp", "+tcp"] {
                let id = try lab.dig("+tries=1 +time=2 \(transport) @\(lab.serverAddr) \(lab.name) A")
                let views = try await Self.views(of: id, from: probe)
                let client = try #require(views.first { $0.observation.netNs == clientNs }, "\(transport): \(views)")
                let server = try #require(views.first { $0.observation.netNs == serverNs }, "\(transport): \(views)")
                #expect(client.question == DNSQuestion(name: lab.name, type: "A"))
                let requester = try #require(client.requester, "\(transport): no requester")
                #expect(requester.comm == "dig")
                #expect(requester.cgroupId == lab.cgroupId)
                #expect(requester.pid != 0)
                #expect(server.requester == nil, "the server's namespace saw the query arrive, not leave")
                if build.answers {
                    #expect(client.answers == DNSAnswers(addresses: [IPAddress(lab.answer)!], ttl: lab.ttl))
                    #expect(server.answers == client.answers)
                } else {
                    #expect(client.answers == nil)
                }
                #expect(client.queryBytes > 28 && client.responseBytes > client.queryBytes, "\(transport)")
                #expect(client.retransmits == 0)
            }
        }
    }

    @Test("a query sent three times from one socket times out once, with its retransmissions and who asked")
    func retransmittedTimeout() async throws {
        let cgroupRoot = try #require(BPFProbe.findCgroup2Root())
        let lab = try ProbeLab(cgroupRoot: cgroupRoot)
        defer { lab.teardown() }
        let clientNs = try lab.inode(lab.client)
        try await Self.withProbe(Self.builds[0]) { probe in
            let id = try lab.retransmit(times: 3)
            let expired = probe.expireQueries(timeout: .milliseconds(50)).filter { $0.id == id }
            #expect(expired.count == 2, "one timeout per namespace: \(expired)")
            let client = try #require(expired.first { $0.observation.netNs == clientNs }, "\(expired)")
            #expect(client.outcome == .timedOut)
            #expect(client.retransmits == 2)
            #expect(client.requester?.comm == "python3" && client.requester?.cgroupId == lab.cgroupId)
            #expect(client.queryBytes > 28 && client.responseBytes == 0)
            // The server's namespace saw each of them arrive on its one interface: retransmissions too.
            let server = try #require(expired.first { $0.observation.netNs != clientNs })
            #expect(server.retransmits == 2 && server.requester == nil)
        }
    }
}

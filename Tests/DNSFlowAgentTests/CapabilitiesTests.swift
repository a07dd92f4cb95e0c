import DNSFlowAgent
import Testing

struct CapabilitiesTests {
    private func bits(_ capabilities: Capabilities.Capability...) -> UInt64 {
        capabilities.reduce(0) { $0 | 1 << UInt64($1.rawValue) }
    }

    @Test func rootHasEverything() {
        // CapEff of root on a 6.x kernel: 000001ffffffffff.
        let root = Capabilities(effective: 0x1ff_ffff_ffff, initialUserNamespace: true, memlockCharged: true)
        #expect(root.missing(attachesCgroup: true).isEmpty)
        #expect(root.refusal(attachesCgroup: true) == nil)
    }

    @Test func namesWhatIsMissing() {
        let none = Capabilities(effective: 0, initialUserNamespace: true, memlockCharged: false)
        #expect(none.missing(attachesCgroup: true) == [.bpf, .perfmon, .netAdmin])
        #expect(none.missing(attachesCgroup: false) == [.bpf, .perfmon])
        let line = none.refusal(attachesCgroup: true) ?? ""
        #expect(line.hasPrefix("missing capabilities CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN:"), "\(line)")
        let noNetAdmin = Capabilities(
            effective: bits(.bpf, .perfmon), initialUserNamespace: true, memlockCharged: false)
        #expect(noNetAdmin.missing(attachesCgroup: true) == [.netAdmin])
    }

    @Test func sysAdminStandsInButNotForMemlock() {
        let admin = Capabilities(effective: bits(.sysAdmin), initialUserNamespace: true, memlockCharged: false)
        #expect(admin.missing(attachesCgroup: true).isEmpty)
        let oldKernel = Capabilities(effective: bits(.sysAdmin), initialUserNamespace: true, memlockCharged: true)
        #expect(oldKernel.missing(attachesCgroup: true) == [.sysResource])
    }

    @Test func capabilitiesOfAnotherUserNamespaceDoNotCount() {
        let rootless = Capabilities(effective: 0x1ff_ffff_ffff, initialUserNamespace: false, memlockCharged: false)
        #expect(rootless.missing(attachesCgroup: true) == [.bpf, .perfmon, .netAdmin])
        #expect(rootless.refusal(attachesCgroup: true)?.contains("initial user namespace") == true)
    }
}

import Foundation

/// A container as kubelet would run it, for the agent to see: podman with runc, from a busybox
/// rootfs (no registry is reachable), in the lab's client namespace, under kubelet's cgroupfs
/// layout for `podUID`. It looks `name` up once at `dns` and lives on, as a pod does: its cgroup,
/// named by the id the kernel reports, is read while it exists.
struct BusyboxPod {
    static let podman = "podman --runtime runc --cgroup-manager cgroupfs"
    let containerID: String
    private let rootfs: String
    private let cidFile: String

    init(lab: Lab, podUID: String, dns: String, name: String) throws {
        rootfs = "/tmp/\(lab.id)-\(podUID.prefix(8))-rootfs"
        cidFile = "/tmp/\(lab.id)-\(podUID.prefix(8))-cid"
        try sh(
            """
            set -e
            mkdir -p \(rootfs)/bin \(rootfs)/etc
            cp \"$(command -v busybox)\" \(rootfs)/bin/busybox
            for tool in sh nslookup sleep; do ln -sf busybox \(rootfs)/bin/$tool; done
            """)
        try sh(
            """
            \(Self.podman) run -d --cidfile \(cidFile) \
            --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network ns:/run/netns/\(lab.client) \
            --dns \(dns) --cgroup-parent /kubepods/burstable/pod\(podUID) --rootfs \(rootfs) \
            /bin/sh -c 'nslookup \(name) \(dns); sleep 60'
            """)
        containerID = try String(contentsOfFile: cidFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The lookup's output once it shows `text`, or after 10 s.
    func output(showing text: String) async throws -> String {
        var output = ""
        for _ in 0..<100 where !output.contains(text) {
            try await Task.sleep(for: .milliseconds(100))
            output = (try? sh("\(Self.podman) logs \(containerID)")) ?? ""
        }
        return output
    }

    func remove() {
        _ = try? sh("\(Self.podman) rm -f -t 0 \(containerID)")
        try? FileManager.default.removeItem(atPath: rootfs)
        try? FileManager.default.removeItem(atPath: cidFile)
    }
}

/// The container and the Kubernetes pod a cgroup v2 path names, as the container engines and
/// kubelet lay them out:
/// - podman: `machine.slice/libpod-<id>.scope` (and a `container` cgroup under it), or
///   `libpod-<id>` with the cgroupfs manager; `libpod-conmon-<id>.scope` is podman's monitor, not
///   the container;
/// - containerd, CRI-O, docker under systemd: `cri-containerd-<id>.scope`, `crio-<id>.scope`,
///   `docker-<id>.scope` (`crio-conmon-<id>.scope` is CRI-O's monitor); docker with cgroupfs:
///   `docker/<id>`;
/// - kubelet, systemd driver: `kubepods-burstable-pod<uid with _ for ->.slice`; cgroupfs driver:
///   `kubepods/burstable/pod<uid>/<id>` (`kubepods/pod<uid>/<id>` for Guaranteed pods).
///
/// Container ids are 64 hex digits in every engine; anything else is not taken for one.
public struct ContainerIdentity: Hashable, Sendable {
    public var containerId: String?
    public var podUid: String?

    public init(containerId: String? = nil, podUid: String? = nil) {
        self.containerId = containerId
        self.podUid = podUid
    }

    /// From a path relative to the cgroup v2 root, as `/proc/<pid>/cgroup` shows it after `0::`.
    /// The innermost component that names a container wins.
    public init(cgroupPath: some StringProtocol) {
        let components = Substring(cgroupPath).split(separator: "/")
        for (index, component) in components.enumerated().reversed() {
            if containerId == nil {
                let parent = index > 0 ? components[index - 1] : nil
                containerId = Self.containerId(component, parent: parent)
            }
            if podUid == nil { podUid = Self.podUid(component) }
        }
    }

    /// The first 12 digits, as `podman ps` and `docker ps` show a container.
    public var shortContainerId: String? { containerId.map { String($0.prefix(12)) } }

    private static let enginePrefixes = ["libpod-", "cri-containerd-", "crio-", "docker-"]

    private static func containerId(_ component: Substring, parent: Substring?) -> String? {
        if let parent, parent == "docker" || parent.hasPrefix("pod"), isContainerId(component) {
            // cgroupfs layouts: the bare id under docker/ or under kubelet's pod<uid>/ (an engine
            // that names its cgroups, podman's libpod-<id>, is read below).
            return String(component)
        }
        var name = component
        if name.hasSuffix(".scope") { name = name.dropLast(".scope".count) }
        for prefix in enginePrefixes where name.hasPrefix(prefix) {
            // libpod-conmon-<id> and crio-conmon-<id> fail here: "conmon-…" is not hex.
            let id = name.dropFirst(prefix.count)
            return isContainerId(id) ? String(id) : nil
        }
        return nil
    }

    /// `pod<uid>` (cgroupfs) or `…-pod<uid_with_underscores>.slice` (systemd).
    private static func podUid(_ component: Substring) -> String? {
        var name = component
        if name.hasSuffix(".slice") {
            name = name.dropLast(".slice".count)
            guard name.hasPrefix("kubepods-"), let dash = name.lastIndex(of: "-") else { return nil }
            name = name[name.index(after: dash)...]
        }
        guard name.hasPrefix("pod") else { return nil }
        let uid = String(name.dropFirst(3).map { $0 == "_" ? "-" : $0 })
        return isUUID(uid) ? uid : nil
    }

    private static func isContainerId(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy(isLowerHex)
    }

    /// 8-4-4-4-12 hex digits.
    private static func isUUID(_ text: String) -> Bool {
        let groups = text.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(isLowerHex) }
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

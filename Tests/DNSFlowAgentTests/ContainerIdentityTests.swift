import DNSFlowAgent
import Testing

struct ContainerIdentityTests {
    static let id = "3f2a9c4e8b1d7f60a5e2c9b8d4f1a7e3c6b9d2f5a8e1c4b7d0f3a6e9c2b5d8f1"
    static let uid = "6b0d4c2e-8f1a-4b3c-9d5e-7f2a1c0b9e8d"
    static let uidUnderscores = "6b0d4c2e_8f1a_4b3c_9d5e_7f2a1c0b9e8d"

    @Test(
        arguments: [
            // podman, systemd manager (the container's processes in a `container` cgroup under the scope)
            ("/machine.slice/libpod-\(id).scope/container", id, nil),
            ("/machine.slice/libpod-\(id).scope", id, nil),
            // podman, cgroupfs manager; rootless under the user's systemd
            ("/libpod_parent/libpod-\(id)", id, nil),
            ("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-\(id).scope/container", id, nil),
            // podman's monitor is not the container
            ("/machine.slice/libpod-conmon-\(id).scope", nil, nil),
            // Kubernetes with the systemd driver: containerd, CRI-O (and its conmon), Guaranteed and BestEffort pods
            (
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uidUnderscores).slice/cri-containerd-\(id).scope",
                id, uid
            ),
            (
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(uidUnderscores).slice/crio-\(id).scope",
                id, uid
            ),
            ("/kubepods.slice/kubepods-pod\(uidUnderscores).slice/crio-conmon-\(id).scope", nil, uid),
            ("/kubepods.slice/kubepods-pod\(uidUnderscores).slice/cri-containerd-\(id).scope", id, uid),
            // Kubernetes with the cgroupfs driver
            ("/kubepods/burstable/pod\(uid)/\(id)", id, uid),
            // podman under kubelet's cgroupfs layout (--cgroup-parent), as the container test runs it.
            ("/kubepods/burstable/pod\(uid)/libpod-\(id)", id, uid),
            ("/kubepods/pod\(uid)/\(id)", id, uid),
            ("/kubepods/besteffort/pod\(uid)", nil, uid),
            // docker, systemd and cgroupfs drivers
            ("/system.slice/docker-\(id).scope", id, nil),
            ("/docker/\(id)", id, nil),
            // not containers
            ("/", nil, nil),
            ("/user.slice/user-1000.slice/session-3.scope", nil, nil),
            ("/system.slice/docker.service", nil, nil),
            ("/kubepods.slice/kubepods-burstable.slice", nil, nil),
            ("/machine.slice/libpod-3f2a9c4e.scope", nil, nil),
            ("/machine.slice/libpod-\(id.uppercased()).scope", nil, nil),
            ("/kubepods/burstable/podnot-a-uid/\(id)", id, nil),
        ] as [(String, String?, String?)])
    func parsesThePath(path: String, containerId: String?, podUid: String?) {
        let identity = ContainerIdentity(cgroupPath: path)
        #expect(identity.containerId == containerId)
        #expect(identity.podUid == podUid)
    }

    @Test func shortIdIsTheFirstTwelveDigits() {
        #expect(
            ContainerIdentity(cgroupPath: "/system.slice/docker-\(Self.id).scope").shortContainerId == "3f2a9c4e8b1d")
        #expect(ContainerIdentity(cgroupPath: "/init.scope").shortContainerId == nil)
    }
}

import Foundation
import Synchronization

/// Three network namespaces made for one test, client ↔ router ↔ server, torn down afterwards
/// even when the test fails. Names are unique per process, so parallel and leftover runs never
/// collide; addresses are in the test's own 10.<n>.x.0/24 nets, inside its namespaces.
final class Lab: @unchecked Sendable {
    let id: String
    let client: String
    let router: String
    let server: String
    let clientAddr: String
    let serverAddr: String
    let clientAddr6: String
    let serverAddr6: String
    let subnet: Int
    private var background: [BackgroundProcess] = []

    /// Labs of suites that run in parallel need distinct names and subnets.
    private static let next = Atomic<Int>(0)

    /// - Parameter prefix: names a suite's labs apart from other suites' (at most 3 letters).
    init(prefix: String = "dft") throws {
        let number = Lab.next.add(1, ordering: .relaxed).newValue
        subnet = 200 + number % 50
        id = "\(prefix)\(getpid() % 100000)x\(number)"
        client = "\(id)c"
        router = "\(id)r"
        server = "\(id)s"
        clientAddr = "10.\(subnet).1.2"
        serverAddr = "10.\(subnet).2.2"
        clientAddr6 = "fd00:\(subnet):1::2"
        serverAddr6 = "fd00:\(subnet):2::2"
        try? teardown()
        do {
            try build()
        } catch {
            try? teardown()
            throw error
        }
    }

    private func build() throws {
        let n = subnet
        try sh(
            """
            set -e
            ip netns add \(client); ip netns add \(router); ip netns add \(server)
            # No duplicate address detection: link-local addresses are usable at once, so the
            # first IPv6 neighbour discovery does not wait out DAD.
            for ns in \(client) \(router) \(server); do
                ip netns exec $ns sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
            done
            ip link add \(id)c0 netns \(client) type veth peer name \(id)r0 netns \(router)
            ip link add \(id)r1 netns \(router) type veth peer name \(id)s0 netns \(server)
            ip -n \(client) addr add 10.\(n).1.2/24 dev \(id)c0
            ip -n \(router) addr add 10.\(n).1.1/24 dev \(id)r0
            ip -n \(router) addr add 10.\(n).2.1/24 dev \(id)r1
            ip -n \(server) addr add 10.\(n).2.2/24 dev \(id)s0
            for ns in \(client) \(router) \(server); do ip -n $ns link set lo up; done
            ip -n \(client) link set \(id)c0 up; ip -n \(router) link set \(id)r0 up
            ip -n \(router) link set \(id)r1 up; ip -n \(server) link set \(id)s0 up
            ip -n \(client) route add default via 10.\(n).1.1
            ip -n \(server) route add default via 10.\(n).2.1
            ip netns exec \(router) sysctl -qw net.ipv4.ip_forward=1
            ip -n \(client) addr add fd00:\(n):1::2/64 dev \(id)c0 nodad
            ip -n \(router) addr add fd00:\(n):1::1/64 dev \(id)r0 nodad
            ip -n \(router) addr add fd00:\(n):2::1/64 dev \(id)r1 nodad
            ip -n \(server) addr add fd00:\(n):2::2/64 dev \(id)s0 nodad
            ip -n \(client) -6 route add default via fd00:\(n):1::1
            ip -n \(server) -6 route add default via fd00:\(n):2::1
            ip netns exec \(router) sysctl -qw net.ipv6.conf.all.forwarding=1
            mkdir -p /etc/netns/\(client)
            echo 'nameserver 10.\(n).2.2' > /etc/netns/\(client)/resolv.conf
            echo 'options attempts:1 timeout:2' >> /etc/netns/\(client)/resolv.conf
            """)
    }

    var clientInterface: String { "\(id)c0" }

    /// The address the router translates to the server's, as kube-proxy does for kube-dns.
    var serviceAddr: String { "10.\(subnet).96.10" }

    /// An nftables DNAT in the router from `serviceAddr`:53 (UDP and TCP) to the server.
    func translateServiceAddress() throws {
        try run(
            router,
            """
            nft -f - <<'NFT'
            table ip dnsflow_test {
                chain prerouting {
                    type nat hook prerouting priority dstnat;
                    ip daddr \(serviceAddr) udp dport 53 dnat to \(serverAddr)
                    ip daddr \(serviceAddr) tcp dport 53 dnat to \(serverAddr)
                }
            }
            NFT
            """)
    }

    /// `address` on the server's loopback, routed to from the client through the router.
    func placeInServer(_ address: String) throws {
        try sh(
            """
            set -e
            ip -n \(server) addr add \(address)/32 dev lo
            ip -n \(router) route add \(address)/32 via \(serverAddr)
            """)
    }

    /// Network namespace inode number, as the records carry it.
    func inode(_ namespace: String) throws -> UInt32 {
        let text = try sh("stat -L -c %i /run/netns/\(namespace)").trimmingCharacters(in: .whitespacesAndNewlines)
        return UInt32(text)!
    }

    func run(_ namespace: String, _ command: String) throws -> String {
        try sh("ip netns exec \(namespace) \(command)")
    }

    /// Starts a process in a namespace (nil: the host's); it is killed at teardown.
    @discardableResult
    func start(_ namespace: String?, _ command: String) throws -> BackgroundProcess {
        let process = try BackgroundProcess(namespace.map { "ip netns exec \($0) \(command)" } ?? command)
        background.append(process)
        return process
    }

    /// The TTL of dnsmasq's answers.
    static let answerTTL = 300

    /// dnsmasq on the server: a.example.test and b.example.test resolve, www.example.test is a
    /// CNAME chain to a.example.test, other names under example.test are NXDOMAIN, over UDP and TCP.
    func startDNSServer() async throws {
        let process = try start(
            server,
            """
            dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
            --listen-address=\(serverAddr) --listen-address=\(serverAddr6) --local=/example.test/ \
            --host-record=a.example.test,10.9.9.1,fd00::1 --host-record=b.example.test,10.9.9.2 \
            --cname=www.example.test,alias.example.test --cname=alias.example.test,a.example.test \
            --local-ttl=\(Lab.answerTTL) --pid-file= --log-facility=- --cache-size=1000
            """)
        try await waitForPort(server, 53, process: process)
    }

    struct DNSPerfReport {
        let sent: Int
        let completed: Int
        let lost: Int
        let text: String
    }

    /// dnsperf from the client to the lab's DNS server over UDP (`arguments` set the load): asks
    /// a.example.test, and one name in five that is NXDOMAIN.
    func dnsperf(_ arguments: String) throws -> DNSPerfReport {
        let queries = "/tmp/\(id)-queries.txt"
        try (0..<1000).map { $0 % 5 == 0 ? "n\($0).example.test A" : "a.example.test A" }.joined(separator: "\n")
            .write(toFile: queries, atomically: true, encoding: .utf8)
        let text = try run(client, "dnsperf -s \(serverAddr) -d \(queries) -t 5 \(arguments)")
        func count(_ label: String) -> Int {
            let line = text.split(separator: "\n").first { $0.contains(label) } ?? ""
            return line.split(separator: " ").compactMap { Int($0) }.first ?? -1
        }
        return DNSPerfReport(
            sent: count("Queries sent:"), completed: count("Queries completed:"), lost: count("Queries lost:"),
            text: text)
    }

    /// A DNS server that waits `delay` before answering every query (UDP), answering NXDOMAIN.
    func startSlowServer(delay: Duration, port: Int = 53) async throws {
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        let script = """
            import socket, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(('\(serverAddr)', \(port)))
            while True:
                q, peer = s.recvfrom(4096)
                time.sleep(\(seconds))
                r = bytearray(q[:12]); r[2] = 0x81; r[3] = 0x83
                s.sendto(bytes(r) + q[12:], peer)
            """
        let path = "/tmp/\(id)-slow.py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let process = try start(server, "python3 -u \(path)")
        try await waitForPort(server, port, udp: true, process: process)
    }

    /// A UDP socket that reads queries and never answers.
    func startSilentServer(port: Int) async throws {
        let path = "/tmp/\(id)-silent.py"
        try """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('\(serverAddr)', \(port)))
        while True: s.recvfrom(4096)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let process = try start(server, "python3 -u \(path)")
        try await waitForPort(server, port, udp: true, process: process)
    }

    private func waitForPort(
        _ namespace: String, _ port: Int, udp: Bool = false, process: BackgroundProcess
    ) async throws {
        let flag = udp ? "-uln" : "-tln"
        for _ in 0..<100 {
            if let out = try? run(namespace, "ss \(flag)"), out.contains(":\(port) ") { return }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ShellError(command: "server on port \(port) in \(namespace)", status: -1, stderr: process.stderr)
    }

    func teardown() throws {
        for process in background where process.isRunning {
            kill(process.pid, SIGKILL)
            var status: Int32 = 0
            waitpid(process.pid, &status, 0)
        }
        background = []
        try? sh(
            "ip netns del \(client) 2>/dev/null; ip netns del \(router) 2>/dev/null; ip netns del \(server) 2>/dev/null; rm -rf /etc/netns/\(client) /tmp/\(id)-*",
            check: false)
    }

    deinit {
        try? teardown()
    }
}

import Foundation
import Synchronization

/// Two network namespaces joined by a veth pair, a client and a server with dnsmasq, and a cgroup
/// v2 directory to run clients in; all made for one test and removed afterwards, even when it
/// fails. Names and the subnet are unique per process and lab.
final class ProbeLab {
    let client: String
    let server: String
    let clientAddr: String
    let serverAddr: String
    /// The address dnsmasq answers for `name`, and the TTL it gives it.
    let name = "probe.example.test"
    let answer: String
    let ttl: UInt32 = 42
    /// The cgroup v2 directory dig runs in, and its id (its inode).
    let cgroup: String
    private(set) var cgroupId: UInt64 = 0
    private let id: String
    private var pids: [Int32] = []

    private static let next = Mutex(0)

    init(cgroupRoot: String) throws {
        let number = Self.next.withLock { n in
            n += 1
            return n
        }
        let subnet = 100 + Int(getpid() % 50) * 2 + number % 2
        id = "dfp\(getpid() % 100000)x\(number)"
        client = "\(id)c"
        server = "\(id)s"
        clientAddr = "10.\(subnet).0.1"
        serverAddr = "10.\(subnet).0.2"
        answer = "10.77.\(subnet).9"
        cgroup = "\(cgroupRoot)/\(id)"
        do {
            try build()
        } catch {
            teardown()
            throw error
        }
    }

    private func build() throws {
        try sh(
            """
            set -e
            ip netns add \(client); ip netns add \(server)
            ip link add \(id)c0 netns \(client) type veth peer name \(id)s0 netns \(server)
            ip -n \(client) addr add \(clientAddr)/24 dev \(id)c0
            ip -n \(server) addr add \(serverAddr)/24 dev \(id)s0
            for ns in \(client) \(server); do ip -n $ns link set lo up; done
            ip -n \(client) link set \(id)c0 up; ip -n \(server) link set \(id)s0 up
            mkdir \(cgroup)
            """)
        cgroupId = UInt64(try sh("stat -c %i \(cgroup)").trimmingCharacters(in: .whitespacesAndNewlines))!
        try sh(
            """
            ip netns exec \(server) dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
            --listen-address=\(serverAddr) --address=/\(name)/\(answer) --local-ttl=\(ttl) \
            --pid-file=/tmp/\(id)-dnsmasq.pid
            """)
        pids.append(Int32(try String(contentsOfFile: "/tmp/\(id)-dnsmasq.pid", encoding: .utf8).trimmed)!)
        // A server that never answers, for timeouts.
        try """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('\(serverAddr)', 5300))
        while True: s.recvfrom(4096)
        """.write(toFile: "/tmp/\(id)-silent.py", atomically: true, encoding: .utf8)
        pids.append(
            Int32(try sh("ip netns exec \(server) python3 /tmp/\(id)-silent.py >/dev/null 2>&1 & echo $!").trimmed)!)
        for _ in 0..<100 {
            let listening = try sh("ip netns exec \(server) ss -uln")
            if listening.contains(":53 ") && listening.contains(":5300 ") {
                // Resolves ARP: a test's first query would otherwise wait for it and leave from a softirq.
                try sh("ip netns exec \(client) dig +tries=1 +time=2 @\(serverAddr) \(name) >/dev/null")
                return
            }
            usleep(50_000)
        }
        throw ProbeLabError(command: "dnsmasq and the silent server", output: "not listening")
    }

    /// Inode of a namespace, as views carry it.
    func inode(_ namespace: String) throws -> UInt32 {
        UInt32(try sh("stat -L -c %i /run/netns/\(namespace)").trimmed)!
    }

    /// dig from the client, inside the lab's cgroup; returns the DNS id dig printed.
    func dig(_ arguments: String) throws -> UInt16 {
        let output = try sh(
            "sh -c 'echo $$ > \(cgroup)/cgroup.procs; exec ip netns exec \(client) dig \(arguments)'", check: false)
        guard let range = output.range(of: "id: "),
            let id = UInt16(output[range.upperBound...].prefix { $0.isNumber })
        else { throw ProbeLabError(command: "dig \(arguments)", output: output) }
        return id
    }

    /// Sends one query `times` times from one socket to the server's silent port, as a resolver
    /// retransmits (dig asks again from a new port: another transaction); returns its DNS id.
    func retransmit(times: Int) throws -> UInt16 {
        let dnsId = UInt16.random(in: 1...UInt16.max)
        try """
        import socket, struct, time
        name = b''.join(bytes([len(l)]) + l.encode() for l in '\(name)'.split('.')) + b'\\0'
        query = struct.pack('>HHHHHH', \(dnsId), 0x0100, 1, 0, 0, 0) + name + struct.pack('>HH', 1, 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(\(times)):
            s.sendto(query, ('\(serverAddr)', 5300))
            time.sleep(0.2)
        """.write(toFile: "/tmp/\(id)-resend.py", atomically: true, encoding: .utf8)
        try sh("sh -c 'echo $$ > \(cgroup)/cgroup.procs; exec ip netns exec \(client) python3 /tmp/\(id)-resend.py'")
        return dnsId
    }

    func teardown() {
        for pid in pids { kill(pid, SIGKILL) }
        pids = []
        _ = try? sh(
            "ip netns del \(client); ip netns del \(server); rmdir \(cgroup); rm -f /tmp/\(id)-*", check: false)
    }

    deinit {
        teardown()
    }
}

struct ProbeLabError: Error, CustomStringConvertible {
    var command: String
    var output: String
    var description: String { "\(command): \(output)" }
}

/// Runs `command` in /bin/sh to completion and returns its output (stderr included). popen, not
/// Foundation's Process: this keeps no end of the pipe open in the test process, so the read
/// ends when the command does, whatever it left running in the background.
@discardableResult
func sh(_ command: String, check: Bool = true) throws -> String {
    guard let pipe = popen("{ \(command)\n} 2>&1", "r") else {
        throw ProbeLabError(command: command, output: "popen failed")
    }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while case let count = fread(&buffer, 1, buffer.count, pipe), count > 0 { output += buffer.prefix(count) }
    let status = pclose(pipe)
    let text = String(decoding: output, as: UTF8.self)
    if check && status != 0 { throw ProbeLabError(command: command, output: text) }
    return text
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

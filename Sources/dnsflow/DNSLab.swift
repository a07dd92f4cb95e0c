import Foundation
import Logging
import ServiceLifecycle

/// The lab of `dnsflow up --lab`: two network namespaces joined by a veth pair, dnsmasq in one
/// (names under lab.test, some NXDOMAIN, a slow zone behind a server that waits), and clients
/// in the other resolving a few names a second over UDP and TCP. Torn down when the service stops.
struct DNSLab: Service {
    private let logger: Logger

    static func start(logger: Logger) throws -> DNSLab {
        try run("up")
        logger.info(
            "DNS lab up", metadata: ["dnsflow.lab.client": "dnsflowlab-client", "dnsflow.lab.server": "10.253.0.53"])
        return DNSLab(logger: logger)
    }

    func run() async throws {
        try? await gracefulShutdown()
        stop()
        logger.info("DNS lab torn down")
    }

    func stop() {
        try? Self.run("down")
    }

    /// posix_spawn and waitpid: Foundation's Process waits on a run loop that an async context
    /// does not turn, and the script's daemons outlive it.
    private static func run(_ verb: String) throws {
        let words: [String] = ["/bin/bash", "-c", script, "dnsflow-lab", verb]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        var status: Int32 = 0
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, argv, environ) == 0
        if spawned { while waitpid(pid, &status, 0) < 0 && errno == EINTR {} }
        guard spawned, status == 0 else {
            throw CLIError(
                status: 1,
                message: "dnsflow up --lab: the lab script failed (\(verb)); is dnsmasq installed? (make deps)")
        }
    }

    // SIGKILL: the daemons inherit the agent's ignored SIGTERM (ServiceLifecycle takes it).
    // The clients loop at most 200,000 times (about 11 hours at their pace), then stop.
    private static let script = #"""
        set -eu
        P=dnsflowlab
        RUN=/run/dnsflow-lab
        down() {
            if [ -d $RUN ]; then for pid in $(cat $RUN/*.pid 2>/dev/null); do kill -KILL -- -$pid 2>/dev/null || true; done; fi
            ip netns del $P-client 2>/dev/null || true
            ip netns del $P-server 2>/dev/null || true
            rm -rf $RUN /etc/netns/$P-client
        }
        up() {
            down
            mkdir -p $RUN /etc/netns/$P-client
            ip netns add $P-client
            ip netns add $P-server
            ip link add ${P}c0 netns $P-client type veth peer name ${P}s0 netns $P-server
            ip -n $P-client addr add 10.253.0.2/24 dev ${P}c0
            ip -n $P-server addr add 10.253.0.53/24 dev ${P}s0
            ip -n $P-server addr add 10.253.0.54/24 dev ${P}s0
            for ns in $P-client $P-server; do ip -n $ns link set lo up; done
            ip -n $P-client link set ${P}c0 up
            ip -n $P-server link set ${P}s0 up
            echo 'nameserver 10.253.0.53' > /etc/netns/$P-client/resolv.conf
            cat > $RUN/slow.py <<'EOF'
        import random, socket, time
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('10.253.0.54', 53))
        while True:
            q, peer = s.recvfrom(4096)
            time.sleep(random.uniform(0.02, 0.12))
            r = bytearray(q[:12]); r[2] = 0x85; r[3] = 0x80; r[7] = 1
            s.sendto(bytes(r) + q[12:] + bytes([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 253, 0, 99]), peer)
        EOF
            setsid ip netns exec $P-server python3 -u $RUN/slow.py >/dev/null 2>&1 & echo $! > $RUN/slow.pid
            setsid ip netns exec $P-server dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
                --bind-interfaces --listen-address=10.253.0.53 --local=/lab.test/ --server=/slow.lab.test/10.253.0.54 \
                --host-record=www.lab.test,10.253.1.1 --host-record=api.lab.test,10.253.1.2,fd00:253::2 \
                --host-record=db.lab.test,10.253.1.3 --host-record=cache.lab.test,10.253.1.4 \
                --cache-size=0 --pid-file= >/dev/null 2>&1 & echo $! > $RUN/dnsmasq.pid
            sleep 0.5
            cat > $RUN/clients.sh <<'EOF'
        names="www.lab.test api.lab.test db.lab.test cache.lab.test missing.lab.test typo.lab.test a.slow.lab.test b.slow.lab.test"
        for i in $(seq 1 200000); do
            for n in $names; do dig +tries=1 +time=2 @10.253.0.53 $n A >/dev/null 2>&1; done
            dig +tcp +tries=1 +time=2 @10.253.0.53 api.lab.test AAAA >/dev/null 2>&1
            getent ahosts www.lab.test >/dev/null 2>&1
            sleep 0.5
        done
        EOF
            setsid ip netns exec $P-client bash $RUN/clients.sh >/dev/null 2>&1 & echo $! > $RUN/clients.pid
        }
        "$1"
        """#
}

"""How many dnstap frames per second the agent's dnstap reader takes.

Starts `dnsflow agent` (pinned to one core with taskset) listening for dnstap on a unix socket, then
one sender per --senders connects (bidirectional Frame Streams: READY, ACCEPT, START), writes
--frames dnstap messages (a client query, a forwarder query and response, a client response,
repeated with new ids) as fast as the socket takes them, then STOP, and waits for FINISH. The
figure is frames read (dnsflow_dnstap_frames_total) over the time from the first frame to the last
FINISH; dropped frames (a full queue) are reported beside it.

    sudo python3 bench/dnstap_bench.py --bin .build/release/dnsflow --frames 400000 --core 1
"""
import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fuzz"))
from make_dnstap_seeds import control, data, message  # noqa: E402


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def send(path, frames):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(control(4))
    s.recv(64)  # ACCEPT
    s.sendall(control(2))
    kinds = [(5, False), (7, False), (8, True), (6, True)]
    batch = b"".join(data(message(kind, qid % 65536, response)) for qid in range(256) for kind, response in kinds)
    per_batch = 256 * len(kinds)
    for _ in range(frames // per_batch):
        s.sendall(batch)
    s.sendall(control(3, False))
    s.recv(64)  # FINISH
    s.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release/dnsflow")
    parser.add_argument("--frames", type=int, default=400_000, help="per sender")
    parser.add_argument("--senders", type=int, default=1)
    parser.add_argument("--core", type=int, default=1)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="dnsflow-dnstap-bench-")
    sock = os.path.join(work, "dnstap.sock")
    port = 47_000 + os.getpid() % 1000
    config = os.path.join(work, "agent.yaml")
    with open(config, "w") as out:
        out.write(f"""apiVersion: dnsflow.io/v1alpha1
kind: FlowCollector
spec:
  agent:
    ebpf:
      features: [DNSTracking, DNSServerSide]
    dnstap: {{unix: {sock}, queueSize: 10000000}}
    metrics: {{port: {port}}}
  exporters: []
""")
    agent = subprocess.Popen(
        ["taskset", "-c", str(args.core), args.bin, "agent", "--config", config, "--log-level", "warning"],
        stdout=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        start = time.monotonic()
        threads = [threading.Thread(target=send, args=(sock, args.frames)) for _ in range(args.senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        total = (args.frames // 1024 * 1024) * args.senders
        deadline = time.monotonic() + 60
        while metric(port, "dnsflow_dnstap_frames_total") < total and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.monotonic() - start
        read = metric(port, "dnsflow_dnstap_frames_total")
        dropped = metric(port, "dnsflow_dnstap_frames_dropped_total")
        print(f"frames={int(read)} senders={args.senders} seconds={elapsed:.2f} "
              f"frames_per_second={read / elapsed:,.0f} dropped={int(dropped)}")
    finally:
        agent.terminate()
        agent.wait(timeout=30)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Collector benchmark: HTTP ingest rate and query-by-DNS-id time on a large store.

Runs the release binary on loopback only, with a bounded number of requests, and stops it at the end.
  swift build -c release --product dnsflow && python3 bench/collector_bench.py [--rows 10000000]
"""
import argparse, json, os, signal, statistics, subprocess, tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build", "release", "dnsflow")
HTTP_PORT, IPFIX_PORT = 19471, 19472
BASE = f"http://127.0.0.1:{HTTP_PORT}"
TICKS = os.sysconf("SC_CLK_TCK")


def set_port(port):
    global HTTP_PORT, IPFIX_PORT, BASE
    HTTP_PORT, IPFIX_PORT, BASE = port, port + 1, f"http://127.0.0.1:{port}"


def start(db, binary=None, args=()):
    proc = subprocess.Popen(
        [binary or BINARY, "collector", "--listen", f"127.0.0.1:{HTTP_PORT}", "--ipfix", f"127.0.0.1:{IPFIX_PORT}",
         "--db", db, *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(BASE + "/healthz", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("collector did not start")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def metric(name):
    text = urllib.request.urlopen(BASE + "/metrics", timeout=60).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def cpu_seconds(proc):
    """User + system CPU time of the process so far: what it cost, whatever else loads the machine."""
    with open(f"/proc/{proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def post_all(bodies, threads):
    """POSTs every body from `threads` client threads; returns the HTTP statuses."""
    todo = list(bodies)
    lock, statuses = threading.Lock(), []

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                body = todo.pop()
            if callable(body):
                body = body()
            req = urllib.request.Request(BASE + "/api/v1/flows", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                status = urllib.request.urlopen(req, timeout=120).status
            except urllib.error.HTTPError as e:
                status = e.code
            with lock:
                statuses.append(status)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool: t.start()
    for t in pool: t.join()
    return statuses


def record(i, now):
    return {"SrcAddr": f"10.0.{i % 250}.{i % 7 + 2}", "DstAddr": "10.0.0.53", "SrcPort": 30000 + i % 30000,
            "DstPort": 53, "Proto": 17, "Etype": 2048, "Bytes": 140, "Packets": 2, "TimeFlowStartMs": now - 3,
            "TimeFlowEndMs": now, "Interfaces": ["eth0"], "IfDirections": [1], "Flags": 0, "NetNs": 4026531840,
            "NodeName": "bench-node", "DnsId": i % 65536, "DnsFlags": 33152, "DnsFlagsResponseCode": "NoError",
            "DnsLatencyMs": (i % 5000) / 100.0, "DnsName": f"host{i % 1000}.example.test", "DnsQType": "A",
            "DnsErrno": 0}


def bench_ingest(db, requests, batch, threads):
    proc = start(db)
    now = int(time.time() * 1000)
    body = json.dumps([record(i, now) for i in range(batch)]).encode()
    load_before, cpu_before = load_average(), cpu_seconds(proc)
    start_time = time.perf_counter()
    statuses = post_all([body] * requests, threads)
    accepted_time = time.perf_counter() - start_time
    expected = requests * batch
    # Polled slowly: a scrape competes with the writer. With answers after the commit there is nothing to wait for.
    while metric("dnsflow_collector_store_rows") < expected - metric("dnsflow_collector_dropped_records_total"):
        time.sleep(0.5)
    stored_time = time.perf_counter() - start_time
    cpu = cpu_seconds(proc) - cpu_before
    dropped = metric("dnsflow_collector_dropped_records_total")
    stop(proc)
    return {"records": expected, "requests": requests, "batch": batch, "threads": threads,
            "accepted_per_s": expected / accepted_time, "stored_per_s": (expected - dropped) / stored_time,
            "collector_cpu_s": cpu, "collector_cpu_us_per_record": cpu / expected * 1e6,
            "load_average": [load_before, load_average()],
            "dropped": dropped, "non_2xx": sum(1 for s in statuses if not 200 <= s < 300)}


def bench_query(db, rows, repeats, batch, threads):
    # Filled through the collector's own ingest, so the store is in its own layout: `rows` records ending 5 ms
    # apart up to now (~14 hours for 10M), DNS id i % 65536 (153 rows per id for 10M), oldest first.
    proc = start(db)
    now = int(time.time() * 1000)

    def make_body(first):
        def body():
            records = []
            for i in range(first, min(first + batch, rows)):
                r = record(i, now - (rows - i) * 5)
                r["DnsFlagsResponseCode"] = "NXDomain" if i % 10 == 0 else "NoError"
                records.append(r)
            return json.dumps(records).encode()
        return body

    t0, cpu_before = time.perf_counter(), cpu_seconds(proc)
    # post_all takes from the end: reversed, so the oldest go first.
    statuses = post_all([make_body(first) for first in reversed(range(0, rows, batch))], threads)
    load_time, load_cpu = time.perf_counter() - t0, cpu_seconds(proc) - cpu_before
    stop(proc)
    proc = start(db)
    timings, result = [], None
    for k in range(repeats):
        dns_id = (4242 + k * 97) % 65536
        t = time.perf_counter()
        result = json.loads(urllib.request.urlopen(f"{BASE}/api/v1/flows?dnsId={dns_id}", timeout=60).read())
        timings.append((time.perf_counter() - t) * 1000)
    stored = metric("dnsflow_collector_store_rows")
    stop(proc)
    timings.sort()
    return {"rows": rows, "stored": stored, "load_s": load_time, "load_per_s": rows / load_time,
            "load_collector_cpu_us_per_record": load_cpu / rows * 1e6,
            "load_non_2xx": sum(1 for s in statuses if not 200 <= s < 300),
            "repeats": repeats, "median_ms": statistics.median(timings),
            "p95_ms": timings[int(len(timings) * 0.95) - 1], "max_ms": timings[-1],
            "rows_per_id": result["total"], "returned": len(result["flows"])}


def main():
    global BINARY
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--binary", default=BINARY, help="the dnsflow binary, e.g. a copy built from another commit")
    parser.add_argument("--skip", choices=["ingest", "query"], help="run only the other part")
    parser.add_argument("--port", type=int, default=HTTP_PORT, help="the collector's HTTP port (IPFIX: the next)")
    args = parser.parse_args()
    BINARY = args.binary
    set_port(args.port)
    with tempfile.TemporaryDirectory(prefix="dnsflow-bench-") as tmp:
        if args.skip != "ingest":
            print(json.dumps({"ingest": bench_ingest(os.path.join(tmp, "ingest.sqlite"), args.requests, args.batch,
                                                     args.threads)}, indent=1), flush=True)
        if args.skip != "query":
            print(json.dumps({"query": bench_query(os.path.join(tmp, "query.sqlite"), args.rows, args.repeats,
                                                   args.batch, args.threads)}, indent=1), flush=True)


if __name__ == "__main__":
    main()

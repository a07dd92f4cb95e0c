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


def start(db):
    proc = subprocess.Popen(
        [BINARY, "collector", "--listen", f"127.0.0.1:{HTTP_PORT}", "--ipfix", f"127.0.0.1:{IPFIX_PORT}", "--db", db],
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
    todo = list(range(requests))
    lock, statuses = threading.Lock(), []

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            req = urllib.request.Request(BASE + "/api/v1/flows", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                statuses.append(urllib.request.urlopen(req, timeout=60).status)
            except urllib.error.HTTPError as e:
                statuses.append(e.code)

    start_time = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool: t.start()
    for t in pool: t.join()
    accepted_time = time.perf_counter() - start_time
    expected = requests * batch
    # Polled slowly: each scrape counts the rows, which competes with the writer.
    while metric("dnsflow_collector_store_rows") < expected - metric("dnsflow_collector_dropped_records_total"):
        time.sleep(0.5)
    stored_time = time.perf_counter() - start_time
    dropped = metric("dnsflow_collector_dropped_records_total")
    stop(proc)
    return {"records": expected, "requests": requests, "batch": batch, "threads": threads,
            "accepted_per_s": expected / accepted_time, "stored_per_s": (expected - dropped) / stored_time,
            "dropped": dropped, "non_202": sum(1 for s in statuses if s != 202)}


def bench_query(db, rows, repeats):
    stop(start(db))  # creates the schema through the collector's own migration
    now = int(time.time() * 1000)
    t0 = time.perf_counter()
    # One transaction of generated rows, newest last: as fast as SQLite bulk-loads, indexes included.
    sql = f"""
    PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-1048576;
    BEGIN;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {rows - 1})
    INSERT INTO flows (src_addr, dst_addr, src_port, dst_port, proto, etype, bytes, packets, time_flow_start_ms,
      time_flow_end_ms, interfaces, if_directions, flags, net_ns, node_name, dns_id, dns_flags, dns_rcode,
      dns_latency_ms, dns_name, dns_qtype, dns_errno, received_at)
    SELECT '10.0.' || (i % 250) || '.' || (i % 7 + 2), '10.0.0.53', 30000 + i % 30000, 53, 17, 2048, 140, 2,
      {now} - ({rows} - i) * 5 - 3, {now} - ({rows} - i) * 5, '["eth0"]', '[1]', 0, 4026531840, 'bench-node',
      i % 65536, 33152, CASE WHEN i % 10 = 0 THEN 'NXDomain' ELSE 'NoError' END, (i % 5000) / 100.0,
      'host' || (i % 1000) || '.example.test', 'A', 0, {now}
    FROM n;
    COMMIT;
    """
    subprocess.run(["sqlite3", db], input=sql.encode(), check=True, stdout=subprocess.DEVNULL)
    load_time = time.perf_counter() - t0
    proc = start(db)
    timings, result = [], None
    for k in range(repeats):
        dns_id = (4242 + k * 97) % 65536
        t = time.perf_counter()
        result = json.loads(urllib.request.urlopen(f"{BASE}/api/v1/flows?dnsId={dns_id}", timeout=60).read())
        timings.append((time.perf_counter() - t) * 1000)
    stop(proc)
    timings.sort()
    return {"rows": rows, "load_s": load_time, "repeats": repeats, "median_ms": statistics.median(timings),
            "p95_ms": timings[int(len(timings) * 0.95) - 1], "max_ms": timings[-1],
            "rows_per_id": result["total"], "returned": len(result["flows"])}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dnsflow-bench-") as tmp:
        print(json.dumps({"ingest": bench_ingest(os.path.join(tmp, "ingest.sqlite"), args.requests, args.batch,
                                                 args.threads)}, indent=1), flush=True)
        print(json.dumps({"query": bench_query(os.path.join(tmp, "query.sqlite"), args.rows, args.repeats)},
                         indent=1), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Page benchmark: what the page's default view and a day's time series cost on a large store.

Fills a store with `--rows` DNS lookups spread over the last 24 hours through the collector's own ingest (so the
store, its posting lists and its rollup are in their real layout), then times the requests the page makes for its
default view (last hour: two over-time charts, four top panels, the first page of lookups), sent at once as the page
sends them, and the 24-hour time series. Loopback only; the collector is stopped at the end.
  swift build -c release --product dnsflow && python3 bench/page_bench.py [--rows 10000000] [--db /tmp/page.sqlite]
"""
import argparse, json, os, random, statistics, sys, tempfile, threading, time, urllib.parse, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collector_bench as cb  # noqa: E402

DAY_MS = 86_400_000
NAMES = [f"svc{i}.ns{i % 40}.svc.cluster.local" for i in range(3000)] + [f"host{i}.example.com" for i in range(2000)]
CLIENTS = [f"pod-{i}" for i in range(300)]
COMMS = ["curl", "python3", "java", "node", "envoy", "dig"]
SERVERS = ["10.96.0.10", "10.0.0.53", "10.0.1.53"]


def lookup(i, end_ms, rng):
    roll = rng.random()
    rcode, errno, latency = "NoError", 0, rng.lognormvariate(0.0, 1.2)
    if roll < 0.08:
        rcode = "NXDomain"
    elif roll < 0.10:
        rcode = "ServFail"
        latency *= 20
    elif roll < 0.11:
        rcode, errno, latency = None, 110, None
    client = i % len(CLIENTS)
    r = {"RecordType": "dnsTransaction", "SrcAddr": f"10.1.{client // 250}.{client % 250 + 2}",
         "DstAddr": SERVERS[i % 3], "SrcPort": 30000 + i % 30000, "DstPort": 53, "Proto": 17, "Etype": 2048,
         "Bytes": 140, "Packets": 2, "TimeFlowStartMs": end_ms - 1, "TimeFlowEndMs": end_ms,
         "Interfaces": ["eth0", "veth1"], "IfDirections": [1, 0], "Flags": 0, "NetNs": 4026532000 + client,
         "NetNsName": CLIENTS[client], "NodeName": "bench-node", "DnsId": i % 65536, "DnsFlags": 33152,
         "DnsName": NAMES[int(rng.paretovariate(1.2)) % len(NAMES)], "DnsQType": "A", "DnsErrno": errno,
         "Comm": COMMS[i % len(COMMS)], "Pid": 1000 + client, "CgroupId": 5000 + client}
    if rcode:
        r["DnsFlagsResponseCode"] = rcode
    if latency is not None:
        r["DnsLatencyMs"] = round(latency, 3)
        r["DnsStages"] = [{"NetNs": r["NetNs"], "Interface": "eth0", "ServerAddr": r["DstAddr"], "ServerPort": 53,
                           "LatencyMs": round(latency, 3)}]
    return r


def fill(rows, batch, threads):
    """`rows` lookups evenly over the 24 hours before now, oldest first."""
    now = int(time.time() * 1000)
    gap = DAY_MS / rows

    def make_body(first):
        def body():
            rng = random.Random(first)
            return json.dumps([lookup(i, now - DAY_MS + int(i * gap), rng)
                               for i in range(first, min(first + batch, rows))]).encode()
        return body

    t0 = time.perf_counter()
    statuses = cb.post_all([make_body(first) for first in reversed(range(0, rows, batch))], threads)
    return {"rows": rows, "load_s": round(time.perf_counter() - t0, 1),
            "non_2xx": sum(1 for s in statuses if not 200 <= s < 300)}


def get(path, params):
    t = time.perf_counter()
    body = urllib.request.urlopen(f"{cb.BASE}{path}?{urllib.parse.urlencode(params)}", timeout=120).read()
    return (time.perf_counter() - t) * 1000, json.loads(body)


# The requests app.js makes for `/?since=1h`.
DEFAULT_VIEW = [
    ("/api/v1/dns/timeseries", {"metric": "rate", "by": "rcode", "since": "1h"}),
    ("/api/v1/dns/timeseries", {"metric": "latency", "by": "rcode", "since": "1h"}),
    ("/api/v1/dns/top", {"by": "name", "stat": "p90", "limit": 8, "since": "1h"}),
    ("/api/v1/dns/top", {"by": "name", "order": "errors", "limit": 8, "since": "1h"}),
    ("/api/v1/dns/top", {"by": "client", "order": "count", "limit": 8, "since": "1h"}),
    ("/api/v1/dns/top", {"by": "server", "stat": "p90", "limit": 8, "since": "1h"}),
    ("/api/v1/lookups", {"limit": 50, "offset": 0, "sort": "time", "since": "1h"}),
]


def default_view():
    """Every request at once, as the page sends them; the view is ready when the last answers."""
    timings = [0.0] * len(DEFAULT_VIEW)

    def one(k):
        timings[k] = get(*DEFAULT_VIEW[k])[0]
    t = time.perf_counter()
    pool = [threading.Thread(target=one, args=(k,)) for k in range(len(DEFAULT_VIEW))]
    for p in pool: p.start()
    for p in pool: p.join()
    return (time.perf_counter() - t) * 1000, timings


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--db", help="keep the store here; an existing one is reused instead of filled again")
    parser.add_argument("--binary", default=cb.BINARY)
    args = parser.parse_args()
    cb.BINARY = args.binary
    with tempfile.TemporaryDirectory(prefix="dnsflow-page-bench-") as tmp:
        db = args.db or os.path.join(tmp, "page.sqlite")
        result = {}
        if not os.path.exists(db):
            proc = cb.start(db)
            result["fill"] = fill(args.rows, args.batch, args.threads)
            cb.stop(proc)
        proc = cb.start(db)
        try:
            result["stored"] = int(cb.metric("dnsflow_collector_store_rows"))
            views, parts = [], []
            for _ in range(args.repeats):
                total, timings = default_view()
                views.append(total)
                parts.append(timings)
            series = {m: sorted(get("/api/v1/dns/timeseries", {"metric": m, "since": "24h"})[0]
                                for _ in range(args.repeats)) for m in ("rate", "latency")}
            filtered = sorted(get("/api/v1/dns/timeseries", {"metric": "rate", "since": "24h", "rcode": "ServFail"})[0]
                              for _ in range(3))
        finally:
            cb.stop(proc)
        result["default_view_ms"] = {"median": round(statistics.median(views), 1), "max": round(max(views), 1),
                                     "per_request_median": {f"{p}?{urllib.parse.urlencode(q)}":
                                                            round(statistics.median(t[k] for t in parts), 1)
                                                            for k, (p, q) in enumerate(DEFAULT_VIEW)}}
        result["timeseries_24h_ms"] = {m: {"median": round(statistics.median(v), 1), "max": round(v[-1], 1)}
                                       for m, v in series.items()}
        result["timeseries_24h_filtered_ms"] = {"median": round(statistics.median(filtered), 1)}
        result["load_average"] = cb.load_average()
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Page benchmark: what the page's default view and a day's time series cost on a large store.

Fills a store with `--rows` DNS lookups spread over the last 24 hours, then times the requests the page makes for its
default view (last hour: two over-time charts, four top panels, the first page of lookups), sent at once as the page
sends them, and the 24-hour time series. Loopback only; the collector is stopped at the end.

The first two hours go in through the collector's own ingest (its tables, posting lists and rollup in their real
layout); with `--replicate` (the default) the other hours are copied from the second one in SQLite, ids, posting
lists and rollup shifted by whole hours, as ingesting 10 M records through HTTP takes hours on a loaded machine.
  swift build -c release --product dnsflow && python3 bench/page_bench.py [--rows 10000000] [--db /tmp/page.sqlite]
"""
import argparse, json, os, random, sqlite3, statistics, sys, tempfile, threading, time, urllib.parse
import urllib.request

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


HOUR_MS = 3_600_000


def fill(rows, batch, threads, now, upto=None):
    """`rows` lookups evenly over the 24 hours before `now`, oldest first; only those before `upto` when given."""
    gap = DAY_MS / rows
    if upto is not None:
        rows_sent = min(rows, int((upto - (now - DAY_MS)) / gap) + 1)
    else:
        rows_sent = rows

    def make_body(first):
        def body():
            rng = random.Random(first)
            return json.dumps([lookup(i, now - DAY_MS + int(i * gap), rng)
                               for i in range(first, min(first + batch, rows_sent))]).encode()
        return body

    t0 = time.perf_counter()
    statuses = cb.post_all([make_body(first) for first in reversed(range(0, rows_sent, batch))], threads)
    return {"ingested": rows_sent, "ingest_s": round(time.perf_counter() - t0, 1),
            "non_2xx": sum(1 for s in statuses if not 200 <= s < 300)}


def replicate(db, source_hour, now):
    """Copies hour `source_hour` to every later hour up to `now` (rows ending after `now` left out): its rows, posting
    lists (row ids inside shifted too) and rollup minutes, and counts them in flow_partitions."""
    t0 = time.perf_counter()
    con = sqlite3.connect(db)
    cols = [r[1] for r in con.execute(f"PRAGMA table_info(flows_{source_hour})")]
    rest = ", ".join(cols[1:])
    copied = 0
    for hour in range(source_hour + 1, now // HOUR_MS + 1):
        shift_ms = (hour - source_hour) * HOUR_MS
        shift, limit = shift_ms << 20, (now - shift_ms) << 20
        for kind, key in (("", None), ("_dns_id", "dns_id"), ("_dns_name", "name_hash")):
            sql = con.execute("SELECT sql FROM sqlite_master WHERE name = ?", (f"flows_{source_hour}{kind}",)).fetchone()[0]
            con.execute(sql.replace(f"flows_{source_hour}{kind}", f"flows_{hour}{kind}"))
            if key is None:
                con.execute(f"INSERT INTO flows_{hour} (id, {rest}) SELECT id + ?, {rest} FROM flows_{source_hour} "
                            "WHERE id < ?", (shift, limit))
            else:
                con.execute(f"""INSERT INTO flows_{hour}{kind} (run, {key}, first, ids)
                    SELECT run, {key}, first + ?1, (SELECT json_group_array(value + ?1) FROM json_each(ids)
                                                    WHERE value < ?2) FROM flows_{source_hour}{kind}
                    WHERE first < ?2""", (shift, limit))
        rows = con.execute(f"SELECT COUNT(*) FROM flows_{hour}").fetchone()[0]
        con.execute("INSERT INTO flow_partitions (hour, rows) VALUES (?, ?)", (hour, rows))
        con.execute("""INSERT INTO dns_minutes (minute, outcome, bucket, lookups)
            SELECT minute + ?, outcome, bucket, lookups FROM dns_minutes WHERE minute >= ? AND minute < ? AND minute < ?""",
                    ((hour - source_hour) * 60, source_hour * 60, source_hour * 60 + 60, now // 60000 - (hour - source_hour) * 60))
        con.commit()
        copied += rows
    con.close()
    return {"replicated_rows": copied, "replicate_s": round(time.perf_counter() - t0, 1)}


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
    parser.add_argument("--no-replicate", action="store_true", help="ingest every row through HTTP")
    parser.add_argument("--binary", default=cb.BINARY)
    args = parser.parse_args()
    cb.BINARY = args.binary
    with tempfile.TemporaryDirectory(prefix="dnsflow-page-bench-") as tmp:
        db = args.db or os.path.join(tmp, "page.sqlite")
        result = {}
        if not os.path.exists(db):
            now = int(time.time() * 1000)
            # The hour after the first (partial) one is the copies' source.
            source = (now - DAY_MS) // HOUR_MS + 1
            proc = cb.start(db)
            result["fill"] = fill(args.rows, args.batch, args.threads, now,
                                  None if args.no_replicate else (source + 1) * HOUR_MS - 1)
            cb.stop(proc)
            if not args.no_replicate:
                result["fill"].update(replicate(db, source, now))
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

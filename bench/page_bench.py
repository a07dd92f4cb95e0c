#!/usr/bin/env python3
"""Page benchmark: what the page's default view and a day's time series cost on a large store.

Fills a store with `--rows` DNS lookups spread over the last 24 hours, then times the requests the page makes for its
default view (last hour: two over-time charts, four top panels, the first page of lookups), sent at once as the page
sends them, and the 24-hour time series. Loopback only; the collector is stopped at the end.

The store is filled in two steps: `--template` lookups go in through the collector's HTTP ingest (timed: the ingest
rate), then SQL makes the `--rows` from them, hour by hour, in the layout the collector's writer gives them (the
hour's table, its posting lists in runs of `--batch`-row transactions, its count and the per-minute rollups), in a
minute or two instead of the hours HTTP would take.
  swift build -c release --product dnsflow && python3 bench/page_bench.py [--rows 10000000] [--db /tmp/page.sqlite]
"""
import argparse, json, math, os, random, sqlite3, statistics, sys, tempfile, threading, time, urllib.parse
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
MINUTE_MS = 60_000
ROW_SEQUENCE_BITS = 20  # FlowRowID: id = TimeFlowEndMs << 20 | sequence
POSTING_RUN_ROWS = 65_536  # FlowPostings.runRows
# DNSRollup.spans, in minutes, and their tables
ROLLUP_SPANS = [(1, "dns_minutes"), (5, "dns_minutes_5"), (30, "dns_minutes_30")]


def latency_bucket(latency_ns):
    """LatencyBuckets.bucket(latencyNs:), -1 for NULL: 5 % wide, bucket 0 below 1 µs."""
    if latency_ns is None:
        return -1
    micros = latency_ns / 1000
    return 0 if micros < 1 else 1 + math.floor(math.log(micros) / math.log(1.05))


def ingest(count, batch, threads, start_ms):
    """`count` lookups through the collector's HTTP ingest, ending 1 ms apart from `start_ms`: the filler's template,
    and the ingest rate."""
    def make_body(first):
        def body():
            rng = random.Random(first)
            return json.dumps([lookup(i, start_ms + i, rng) for i in range(first, min(first + batch, count))]).encode()
        return body

    bodies = [make_body(first) for first in reversed(range(0, count, batch))]
    load, t0 = cb.load_average(), time.perf_counter()
    statuses = cb.post_all(bodies, threads)
    seconds = time.perf_counter() - t0
    return {"records": count, "seconds": round(seconds, 2), "records_per_s": round(count / seconds),
            "threads": threads, "batch": batch, "load_average": load,
            "non_2xx": sum(1 for s in statuses if not 200 <= s < 300)}


def name_hash(name):
    """FlowPostings.nameHash: FNV-1a over the bytes, ASCII letters lowercased, as a signed 64-bit integer."""
    h = 0xcbf29ce484222325
    for b in name.encode():
        h = ((h ^ (b | 0x20 if 65 <= b <= 90 else b)) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h - (1 << 64) if h >= 1 << 63 else h


def fill(db, rows, batch, now):
    """`rows` lookups evenly over the 24 hours before `now`, made in SQL from the rows already in `db` (the
    template, ingested by the collector, whose own hour is replaced): each hour's table, its posting lists in runs
    of `batch`-row transactions as the writer makes them, its count in flow_partitions, and the per-minute rollups
    (dns_minutes*, flow_minutes)."""
    t0 = time.perf_counter()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    con.create_function("dns_latency_bucket", 1, latency_bucket, deterministic=True)
    con.execute("BEGIN")
    hours = [h for (h,) in con.execute("SELECT hour FROM flow_partitions ORDER BY hour")]
    cols = [r[1] for r in con.execute(f"PRAGMA table_info(flows_{hours[0]})")][1:]
    con.execute(f"CREATE TEMP TABLE template AS SELECT {', '.join(cols)} FROM ("
                + " UNION ALL ".join(f"SELECT * FROM flows_{h}" for h in hours) + ")")
    con.execute("CREATE TEMP TABLE template_n AS SELECT row_number() OVER () - 1 AS n, * FROM template")
    con.execute("CREATE UNIQUE INDEX temp.template_n_n ON template_n (n)")
    size = con.execute("SELECT COUNT(*) FROM template_n").fetchone()[0]
    con.execute("CREATE TEMP TABLE name_hashes (name TEXT PRIMARY KEY COLLATE NOCASE, hash INTEGER NOT NULL)")
    con.executemany("INSERT OR IGNORE INTO name_hashes VALUES (?, ?)",
                    [(n, name_hash(n)) for (n,) in con.execute("SELECT DISTINCT dns_name FROM template_n "
                                                                "WHERE dns_name IS NOT NULL")])
    # The store's own DDL for an hour's tables, from the template's hour.
    ddl = [sql.replace(f"flows_{hours[0]}", "flows_H") for (sql,) in con.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name IN (?, ?, ?)",
        tuple(f"flows_{hours[0]}{kind}" for kind in ("", "_dns_id", "_dns_name")))]
    for hour in hours:
        for kind in ("_dns_id", "_dns_name", ""):
            con.execute(f"DROP TABLE flows_{hour}{kind}")
    for table in ["flow_partitions", "flow_minutes"] + [rollup for _, rollup in ROLLUP_SPANS]:
        con.execute(f"DELETE FROM {table}")
    gap = DAY_MS / rows
    first_ms = now - DAY_MS

    def time_ms(i):
        return first_ms + int(i * gap)

    def first_at(ms):
        """The first lookup ending at or after `ms`."""
        i = min(rows, max(0, int((ms - first_ms) / gap) - 1))
        while i < rows and time_ms(i) < ms:
            i += 1
        return i

    rest = [c for c in cols if c not in ("time_flow_start_ms", "dns_id")]
    i = 0
    while i < rows:
        hour = time_ms(i) // HOUR_MS
        end = first_at((hour + 1) * HOUR_MS)
        table = f"flows_{hour}"
        for sql in ddl:
            con.execute(sql.replace("flows_H", table))
        con.execute(f"""
            WITH RECURSIVE s(i) AS (VALUES (?1) UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?2)
            INSERT INTO {table} (id, time_flow_start_ms, dns_id, {', '.join(rest)})
            SELECT ((?3 + CAST(i * ?4 AS INTEGER)) << {ROW_SEQUENCE_BITS}) | (i & {(1 << ROW_SEQUENCE_BITS) - 1}),
                   ?3 + CAST(i * ?4 AS INTEGER) - 1, i % 65536, {', '.join(rest)}
            FROM s JOIN template_n ON template_n.n = s.i % ?5""", (i, end, first_ms, gap, size))
        # Row k of the hour was written by transaction k / batch, into the posting run of the rows before it.
        numbered = f"""SELECT id, dns_id, dns_name, (row_number() OVER (ORDER BY id) - 1) / {batch} AS tx
                       FROM {table}"""
        for postings, key, source in (("_dns_id", "dns_id", "dns_id"),
                                      ("_dns_name", "name_hash", "(SELECT hash FROM name_hashes WHERE name = dns_name)")):
            con.execute(f"""
                INSERT INTO {table}{postings} (run, {key}, first, ids)
                SELECT tx * {batch} / {POSTING_RUN_ROWS}, k, MIN(id), json_group_array(id) FROM (
                  SELECT tx, {source} AS k, id FROM ({numbered}) WHERE {source} IS NOT NULL ORDER BY tx, k, id)
                GROUP BY tx, k""")
        con.execute(f"INSERT INTO flow_partitions (hour, rows) SELECT ?, COUNT(*) FROM {table}", (hour,))
        con.execute(f"""INSERT INTO flow_minutes (minute, record_type, rows)
            SELECT (id >> {ROW_SEQUENCE_BITS}) / {MINUTE_MS}, record_type, COUNT(*) FROM {table} GROUP BY 1, 2""")
        # DNSRollup.add: lookups with an outcome, per minute, outcome and latency bucket.
        con.execute(f"""
            INSERT INTO dns_minutes (minute, outcome, bucket, lookups)
            SELECT (id >> {ROW_SEQUENCE_BITS}) / {MINUTE_MS}, COALESCE(dns_rcode, 256 + dns_errno),
                   dns_latency_bucket(dns_latency_ns), COUNT(*)
            FROM {table} WHERE dns_id IS NOT NULL AND COALESCE(dns_rcode, 256 + dns_errno) IS NOT NULL
            GROUP BY 1, 2, 3""")
        i = end
    # ... and its longer spans, from the minutes.
    for span, rollup in ROLLUP_SPANS[1:]:
        con.execute(f"""INSERT INTO {rollup} (minute, outcome, bucket, lookups)
            SELECT minute / {span} * {span}, outcome, bucket, SUM(lookups) FROM dns_minutes GROUP BY 1, 2, 3""")
    con.execute("COMMIT")
    con.close()
    return {"rows": rows, "template": size, "fill_s": round(time.perf_counter() - t0, 1)}


def get(path, params):
    t = time.perf_counter()
    body = urllib.request.urlopen(f"{cb.BASE}{path}?{urllib.parse.urlencode(params)}", timeout=120).read()
    return (time.perf_counter() - t) * 1000, json.loads(body)


# The requests app.js makes for `/?since=1h`; `since` and `until` are set to the store's last hour (`anchor`), so
# that a kept store measures the same rows later.
DEFAULT_VIEW = [
    ("/api/v1/dns/timeseries", {"metric": "rate", "by": "rcode", "since": "1h"}),
    ("/api/v1/dns/timeseries", {"metric": "latency", "by": "rcode", "since": "1h"}),
    ("/api/v1/dns/top", {"by": "name", "stat": "p90", "limit": 8, "since": "1h"}),
    ("/api/v1/dns/top", {"by": "name", "order": "errors", "limit": 8, "since": "1h"}),
    ("/api/v1/dns/top", {"by": "client", "order": "count", "limit": 8, "since": "1h"}),
    ("/api/v1/dns/top", {"by": "server", "stat": "p90", "limit": 8, "since": "1h"}),
    ("/api/v1/lookups", {"limit": 50, "offset": 0, "sort": "time", "since": "1h"}),
]


def anchor(hours):
    """Sets every request's window to the `hours` before the store's newest lookup."""
    newest = get("/api/v1/lookups", {"limit": 1})[1]["lookups"][0]["TimeFlowEndMs"] + 1
    for _, query in DEFAULT_VIEW:
        query.update(since=newest - HOUR_MS, until=newest)
    return {"since": newest - hours * HOUR_MS, "until": newest}


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


def timed(repeats, request):
    """`request()` `repeats` times; its times in ms."""
    return [request() for _ in range(repeats)]


def summary(times):
    times = sorted(times)
    return {"median": round(statistics.median(times), 1), "max": round(times[-1], 1), "n": len(times)}


def measure(times, repeats):
    """One round against the running collector, its times added to `times`."""
    anchor(1)
    for _ in range(repeats):
        total, parts = default_view()
        times.setdefault("default_view", []).append(total)
        for (path, query), ms in zip(DEFAULT_VIEW, parts):
            shown = {k: v for k, v in query.items() if k not in ("since", "until")}
            times.setdefault(f"{path}?{urllib.parse.urlencode(shown)}", []).append(ms)
    day = anchor(24)
    for metric in ("rate", "latency"):
        times.setdefault(f"timeseries_24h_{metric}", []).extend(
            timed(repeats, lambda: get("/api/v1/dns/timeseries", {"metric": metric, **day})[0]))
    times.setdefault("timeseries_24h_servfail", []).extend(
        timed(1, lambda: get("/api/v1/dns/timeseries", {"metric": "rate", "rcode": "ServFail", **day})[0]))
    times.setdefault("flows_by_dns_id", []).extend(
        timed(repeats, lambda: get("/api/v1/flows", {"dnsId": 4242})[0]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--template", type=int, default=20_000, help="lookups ingested through HTTP")
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5, help="collector runs per binary, interleaved")
    parser.add_argument("--repeats", type=int, default=4, help="requests of each kind per round")
    parser.add_argument("--db", help="keep the store here; an existing one is reused instead of filled again")
    parser.add_argument("--fill-only", action="store_true", help="fill the store (--db) and stop")
    parser.add_argument("--port", type=int, default=cb.HTTP_PORT, help="the collector's HTTP port (IPFIX: the next)")
    parser.add_argument("--binary", default=cb.BINARY)
    parser.add_argument("--compare", metavar="BINARY", help="another build, measured in turn with --binary")
    args = parser.parse_args()
    cb.BINARY = args.binary
    cb.set_port(args.port)
    with tempfile.TemporaryDirectory(prefix="dnsflow-page-bench-") as tmp:
        db = args.db or os.path.join(tmp, "page.sqlite")
        # The store is a day old at most, but its oldest hour must outlive a long run.
        config = os.path.join(tmp, "collector.yaml")
        with open(config, "w") as f:
            f.write("retention: 7d\n")
        result = {}
        if not os.path.exists(db):
            now = int(time.time() * 1000)
            proc = cb.start(db, args=("--config", config))
            try:
                result["ingest"] = ingest(args.template, args.batch, args.threads, now - DAY_MS)
            finally:
                cb.stop(proc)
            result["fill"] = fill(db, args.rows, args.batch, now)
        if args.fill_only:
            print(json.dumps(result, indent=1))
            return
        binaries = [args.binary] + ([args.compare] if args.compare else [])
        times = {binary: {} for binary in binaries}
        loads = []
        for _ in range(args.rounds):
            for binary in binaries:
                proc = cb.start(db, binary, ("--config", config))
                try:
                    result["stored"] = int(cb.metric("dnsflow_collector_store_rows"))
                    measure(times[binary], args.repeats)
                finally:
                    cb.stop(proc)
                loads.append(cb.load_average())
        result["ms"] = {binary: {k: summary(v) for k, v in t.items()} for binary, t in times.items()}
        result["load_average"] = {"min": min(loads), "max": max(loads)}
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

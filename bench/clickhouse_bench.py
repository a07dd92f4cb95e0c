#!/usr/bin/env python3
"""ClickHouse store benchmark: collector ingest into ClickHouse, query by DNS id and the 24-hour charts on 10M (and
optionally 100M) rows.

Runs Debian's clickhouse-server (its own config and data in a temporary directory, loopback, ports 19473/19474) and
the release collector with --store clickhouse://…, and stops both at the end:
  swift build -c release --product dnsflow && python3 bench/clickhouse_bench.py [--rows 10000000,100000000]
The query rows are written by ClickHouse itself (INSERT … SELECT FROM numbers), into the table the collector made:
filling 100M rows through Python-made JSON would take the client, not the store, an hour.
"""
import argparse, json, os, shutil, signal, statistics, subprocess, tempfile, time, urllib.request

import collector_bench as cb

CH_HTTP, CH_TCP = 19473, 19474
# This bench's collector ports (issue 21's range), not collector_bench.py's, which may be running beside it.
cb.HTTP_PORT, cb.IPFIX_PORT = 19475, 19476
cb.BASE = f"http://127.0.0.1:{cb.HTTP_PORT}"
CH = f"http://127.0.0.1:{CH_HTTP}/"
DATABASE = "bench"
DAY_MS = 86_400_000


def ch(sql, timeout=3600):
    """The answer's bytes as text; RowBinary answers (the timed queries) are read and dropped."""
    answer = urllib.request.urlopen(urllib.request.Request(CH, data=sql.encode()), timeout=timeout).read()
    return "" if sql.rstrip().endswith("FORMAT RowBinary") else answer.decode()


def start_clickhouse(directory):
    os.makedirs(f"{directory}/data/tmp", exist_ok=True)
    with open(f"{directory}/config.xml", "w") as f:
        f.write(f"""<?xml version="1.0"?><yandex><logger><level>warning</level><console>1</console></logger>
<listen_host>127.0.0.1</listen_host><http_port>{CH_HTTP}</http_port><tcp_port>{CH_TCP}</tcp_port>
<path>{directory}/data/</path><tmp_path>{directory}/data/tmp/</tmp_path><users_config>users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database>
<mark_cache_size>1073741824</mark_cache_size></yandex>""")
    with open(f"{directory}/users.xml", "w") as f:
        f.write("""<?xml version="1.0"?><yandex><profiles><default></default></profiles><users><default>
<password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota>
</default></users><quotas><default></default></quotas></yandex>""")
    log = open(f"{directory}/server.log", "w")
    proc = subprocess.Popen(["/usr/sbin/clickhouse-server", f"--config-file={directory}/config.xml"],
                            cwd=directory, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if ch("SELECT 1", timeout=1).strip() == "1":
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    proc.wait()
    with open(f"{directory}/server.log") as f:
        raise SystemExit(f"clickhouse-server on 127.0.0.1:{CH_HTTP} did not answer within 60 s:\n{f.read()[-2000:]}")


def start_collector():
    proc = subprocess.Popen(
        [cb.BINARY, "collector", "--listen", f"127.0.0.1:{cb.HTTP_PORT}", "--ipfix", f"127.0.0.1:{cb.IPFIX_PORT}",
         "--store", f"clickhouse://127.0.0.1:{CH_HTTP}/{DATABASE}?user=default"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            # The schema is made on first use. By an id: an unfiltered newest-first page of a full store sorts it.
            urllib.request.urlopen(cb.BASE + "/api/v1/flows?dnsId=0&limit=1", timeout=5).read()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("collector did not start")


def truncate():
    """Empties the lookups and their per-minute rollup (which the collector's materialised view fills)."""
    for table in ("flows", "dns_minutes"):
        ch(f"TRUNCATE TABLE IF EXISTS {DATABASE}.{table}")


def stored():
    return int(ch(f"SELECT count() FROM {DATABASE}.flows"))


def bench_ingest(requests, batch, threads, clickhouse):
    truncate()
    proc = start_collector()
    now = int(time.time() * 1000)
    body = json.dumps([cb.record(i, now) for i in range(batch)]).encode()
    load_before, cpu_before, ch_before = cb.load_average(), cb.cpu_seconds(proc), cb.cpu_seconds(clickhouse)
    t0 = time.perf_counter()
    statuses = cb.post_all([body] * requests, threads)
    elapsed = time.perf_counter() - t0
    cpu, ch_cpu = cb.cpu_seconds(proc) - cpu_before, cb.cpu_seconds(clickhouse) - ch_before
    cb.stop(proc)
    records = requests * batch
    return {"records": records, "batch": batch, "threads": threads, "stored": stored(),
            "stored_per_s": stored() / elapsed, "collector_cpu_us_per_record": cpu / records * 1e6,
            "clickhouse_cpu_us_per_record": ch_cpu / records * 1e6, "load_average": [load_before, cb.load_average()],
            "non_2xx": sum(1 for s in statuses if not 200 <= s < 300)}


def fill(rows, now):
    """`rows` lookups ending evenly over the 24 hours before `now`: DNS id i % 65536, 1,000 names, one in ten
    NXDomain, latencies 0-50 ms; written by ClickHouse in the collector's table."""
    step = DAY_MS / rows
    truncate()
    t0 = time.perf_counter()
    chunk = 10_000_000
    for first in range(0, rows, chunk):
        count = min(chunk, rows - first)
        ch(f"""INSERT INTO {DATABASE}.flows (record_type, src_addr, dst_addr, src_port, dst_port, proto, etype, bytes,
            packets, time_flow_start_ms, time_flow_end_ms, interfaces, if_directions, net_ns, node_name, dns_id,
            dns_flags, dns_rcode, dns_latency_ns, dns_name, dns_qtype, dns_errno)
            SELECT 1, [unhex('0A000002'), unhex('0A000103'), unhex('0A000204'), unhex('0A000305')][number % 4 + 1],
              unhex('0A000035'), toUInt16(30000 + number % 30000), 53, 17, 2048, 140, 2,
              toInt64({now} - ({rows} - number) * {step}) - 3, toInt64({now} - ({rows} - number) * {step}),
              ['eth0'], [1], 4026531840, 'bench-node', toInt32(number % 65536), 33152,
              toUInt8(if(number % 10 = 0, 3, 0)), toUInt64((number % 5000) * 10000),
              concat('host', toString(number % 1000), '.example.test'), 1, 0
            FROM (SELECT number + {first} AS number FROM system.numbers LIMIT {count})""")
    return time.perf_counter() - t0


def timed(fetch, repeats):
    timings = []
    for k in range(repeats):
        t = time.perf_counter()
        fetch(k)
        timings.append((time.perf_counter() - t) * 1000)
    timings.sort()
    return {"median_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[max(int(len(timings) * 0.95) - 1, 0)], 1), "max_ms": round(timings[-1], 1)}


def get(path):
    return json.loads(urllib.request.urlopen(cb.BASE + path, timeout=120).read())


def bench_query(rows, repeats):
    load_before = cb.load_average()
    proc = start_collector()
    now = int(time.time() * 1000)
    fill_s = fill(rows, now)
    cb.stop(proc)
    parts = int(ch(f"SELECT count() FROM system.parts WHERE database = '{DATABASE}' AND table = 'flows' AND active"))
    proc = start_collector()
    since, until = now - DAY_MS, now + 1
    window = f"since={since}&until={until}"
    by_id = timed(lambda k: get(f"/api/v1/lookups?dnsId={(4242 + k * 97) % 65536}"), repeats)
    by_id_window = timed(lambda k: get(f"/api/v1/lookups?dnsId={(4242 + k * 97) % 65536}&{window}"), repeats)
    rows_per_id = get("/api/v1/lookups?dnsId=4242")["total"]
    by_name = timed(lambda k: get(f"/api/v1/lookups?dnsName=host{k % 1000}.example.test&{window}"), min(repeats, 20))
    # No window: the API's default for /api/v1/flows, newest first.
    unfiltered = timed(lambda k: get(f"/api/v1/flows?limit=50&offset={k * 50}"), min(repeats, 10))
    newest = timed(lambda k: get(f"/api/v1/lookups?since={now - 300_000}&until={until}"), min(repeats, 20))
    histogram = timed(lambda k: get(f"/api/v1/dns/histogram?{window}"), min(repeats, 10))
    top = timed(lambda k: get(f"/api/v1/dns/top?by=name&stat=p90&{window}"), min(repeats, 10))
    # The page's over-time charts over 24 h, in the step the API picks for a day (30 min): lookups per second by
    # response code, and the latency percentiles.
    minute = 60_000
    day = f"since={(now - DAY_MS) // minute * minute}&until={until}"
    series = timed(lambda k: get(f"/api/v1/dns/timeseries?metric=rate&{day}"), min(repeats, 10))
    latency_series = timed(lambda k: get(f"/api/v1/dns/timeseries?metric=latency&{day}"), min(repeats, 10))
    cb.stop(proc)
    return {"rows": rows, "load_average_before": load_before, "fill_s": round(fill_s, 1), "parts": parts, "rows_per_id": rows_per_id,
            "by_id": by_id, "by_id_24h_window": by_id_window, "by_name_24h": by_name, "newest_5min_page": newest, "unfiltered_page": unfiltered,
            "histogram_24h": histogram, "top_names_p90_24h": top, "time_series_rate_24h": series,
            "time_series_latency_24h": latency_series, "load_average_after": cb.load_average(),
            "disk_bytes": int(ch(f"SELECT sum(bytes_on_disk) FROM system.parts WHERE database = '{DATABASE}' "
                                 "AND table = 'flows' AND active"))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rows", default="10000000", help="comma-separated store sizes for the query part")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--binary", default=cb.BINARY)
    parser.add_argument("--skip", choices=["ingest", "query"], help="run only the other part")
    args = parser.parse_args()
    cb.BINARY = args.binary
    directory = tempfile.mkdtemp(prefix="i21-ch-bench-")
    clickhouse = start_clickhouse(directory)
    try:
        print(json.dumps({"clickhouse": ch("SELECT version()").strip()}), flush=True)
        if args.skip != "ingest":
            print(json.dumps({"ingest": bench_ingest(args.requests, args.batch, args.threads, clickhouse)}, indent=1),
                  flush=True)
        if args.skip != "query":
            for rows in (int(r) for r in args.rows.split(",")):
                print(json.dumps({"query": bench_query(rows, args.repeats)}, indent=1), flush=True)
    finally:
        clickhouse.send_signal(signal.SIGTERM)
        clickhouse.wait(timeout=120)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()

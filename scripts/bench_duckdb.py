#!/usr/bin/env python3
"""flowdash next to DuckDB on the same version 2 flow-log file, in one run (issue 22, item 4).

Usage: bench_duckdb.py FLOWDASH_BIN V2_FILE WORK_DIR [PORT]

1. DuckDB (2 threads, as this machine has 2 cores) reads the file into a table; flowdash
   ingests it into a fresh store. Both speeds are printed, and their ratio.
2. flowdash serves the store on loopback, and six dashboard queries run on both: each WARMUP
   times, then RUNS times, p50 printed. flowdash times are whole `/api/search` round trips.
   Every flowdash request is made distinct (a `must_not` on an action no flow has), so the
   request cache answers none of them: the time is the engine's. The cached time, what a
   second viewer of the same dashboard waits, is printed beside it.
   The server makes the hourly rollups of the days no longer written (half a minute after
   they were last written); the queries run once it has, and the wait is printed.

Time ranges end at the newest flow, so "last 24 h" means the same flows to both.
Local only, a bounded number of requests.
"""
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

import duckdb

BIN, FILE, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
PORT = int(sys.argv[4]) if len(sys.argv) > 4 else 3196
BASE = f"http://127.0.0.1:{PORT}"
RUNS, WARMUP = 15, 2
HOUR, DAY = 3600, 86400

COLUMNS = {
    "version": "INTEGER", "account_id": "VARCHAR", "interface_id": "VARCHAR",
    "srcaddr": "VARCHAR", "dstaddr": "VARCHAR", "srcport": "INTEGER", "dstport": "INTEGER",
    "protocol": "INTEGER", "packets": "BIGINT", "bytes": "BIGINT", "start": "BIGINT",
    "end": "BIGINT", "action": "VARCHAR", "log_status": "VARCHAR",
}


def timed(run):
    started = time.perf_counter()
    result = run()
    return (time.perf_counter() - started) * 1000, result


def p50(run):
    for _ in range(WARMUP):
        run()
    return statistics.median(timed(run)[0] for _ in range(RUNS))


# 1. Loading.
records = sum(1 for _ in open(FILE, "rb"))
db = duckdb.connect()
db.execute("SET threads = 2")
columns = ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS.items())
duck_ms, _ = timed(lambda: db.execute(
    f"CREATE TABLE flows AS SELECT * FROM read_csv('{FILE}', delim = ' ', header = false, "
    f"nullstr = '-', columns = {{{columns}}})"))
store = os.path.join(WORK, "duckdb-peer-store")
shutil.rmtree(store, ignore_errors=True)
flowdash_ms, _ = timed(lambda: subprocess.run(
    [BIN, "ingest", "--data-dir", store, FILE], check=True, stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL))
duck_rate = records / duck_ms * 1000
flowdash_rate = records / flowdash_ms * 1000
print(f"== {records:,} records, {os.path.getsize(FILE) / 1e9:.2f} GB")
print(f"{'load':<36} DuckDB {duck_rate / 1e3:8.0f}k rows/s   flowdash {flowdash_rate / 1e3:8.0f}k records/s"
      f"   flowdash/DuckDB speed {flowdash_rate / duck_rate:.2f}x")

# 2. Queries.
server = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{PORT}", "--data-dir", store],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            urllib.request.urlopen(BASE + "/api/health", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    waited = time.monotonic()
    while time.monotonic() - waited < 300:
        with urllib.request.urlopen(BASE + "/api/health", timeout=5) as response:
            health = json.load(response)
        if health.get("rolled_up_indices", 0) >= health["indices"]:
            break
        time.sleep(2)
    print(f"{'rollups made':<36} {health.get('rolled_up_indices', 0)} of {health['indices']} days,"
          f" {time.monotonic() - waited:.0f} s after the server started")
    end = db.execute('SELECT max("start") FROM flows').fetchone()[0]
    first = db.execute('SELECT min("start") FROM flows').fetchone()[0]
    nonce = itertools.count()

    def post(body):
        data = json.dumps({"index": "cwl-*", "body": body}).encode()
        request = urllib.request.Request(BASE + "/api/search", data=data,
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.load(response)

    def es(since, aggs=None, extra=None, fresh=True):
        """A `size: 0` search of the flows since `since` (epoch seconds) up to the newest."""
        filters = [{"range": {"@timestamp": {"gte": since * 1000, "lte": end * 1000 + 999,
                                             "format": "epoch_millis"}}}]
        filters += extra or []
        query = {"bool": {"filter": filters}}
        if fresh:
            query["bool"]["must_not"] = [{"term": {"action": f"no-such-action-{next(nonce)}"}}]
        body = {"size": 0, "track_total_hits": True, "query": query}
        if aggs:
            body["aggs"] = aggs
        return body

    pie = {"a": {"terms": {"field": "action", "size": 5},
                 "aggs": {"p": {"terms": {"field": "dstport", "size": 5}}}}}
    per_minute = {"m": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1m"},
                        "aggs": {"a": {"terms": {"field": "action", "size": 5}}}}}
    talkers = {"s": {"terms": {"field": "srcaddr", "size": 10, "order": {"b": "desc"}},
                     "aggs": {"b": {"sum": {"field": "bytes"}}}}}
    pie_sql = """WITH c AS (SELECT action, dstport, count(*) AS n FROM flows
                   WHERE "start" BETWEEN {since} AND {end} GROUP BY action, dstport)
                 SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY action ORDER BY n DESC) AS r
                   FROM c) WHERE r <= 5"""
    queries = [
        ("pie action > dstport, all days", first, pie, None, pie_sql),
        ("same pie, last 24 h", end - DAY, pie, None, pie_sql),
        ("per-minute by action, last 1 h", end - HOUR, per_minute, None,
         """SELECT "start" // 60 AS m, action, count(*) FROM flows
            WHERE "start" BETWEEN {since} AND {end} GROUP BY m, action"""),
        ("per-minute by action, last 24 h", end - DAY, per_minute, None,
         """SELECT "start" // 60 AS m, action, count(*) FROM flows
            WHERE "start" BETWEEN {since} AND {end} GROUP BY m, action"""),
        ("top 10 sources by bytes, all days", first, talkers, None,
         """SELECT srcaddr, sum(bytes) AS b FROM flows WHERE "start" BETWEEN {since} AND {end}
            GROUP BY srcaddr ORDER BY b DESC LIMIT 10"""),
        ("CIDR-filtered count, all days", first, None, [{"term": {"srcaddr": "10.0.0.0/8"}}],
         """SELECT count(*) FROM flows WHERE "start" BETWEEN {since} AND {end}
            AND srcaddr LIKE '10.%'"""),
    ]
    print(f"{'query':<36} {'DuckDB ms':>10} {'flowdash ms':>12} {'ratio':>7} {'cached ms':>10}")
    ratios = []
    for name, since, aggs, extra, sql in queries:
        sql = sql.format(since=since, end=end)
        duck = p50(lambda: db.execute(sql).fetchall())
        cold = p50(lambda: post(es(since, aggs, extra)))
        cached_body = es(since, aggs, extra, fresh=False)
        warm = p50(lambda: post(cached_body))
        ratios.append(cold / duck)
        print(f"{name:<36} {duck:10.1f} {cold:12.1f} {cold / duck:6.2f}x {warm:10.1f}")
    print(f"{'worst ratio':<36} {max(ratios):30.2f}x")
finally:
    server.terminate()
    server.wait()
    shutil.rmtree(store, ignore_errors=True)

#!/usr/bin/env python3
"""Times dashboard queries against a running flowdash: p50 and p95 over repeated runs.

Usage: bench_queries.py BASE_URL STORE_NAME [SERVER_PID]. Local only; a bounded number of
requests. With the server's pid, the CSV export's peak memory is sampled too.
"""
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from bench_query_set import QUERIES, time_range  # the scripts folder is on the path

BASE, STORE = sys.argv[1], sys.argv[2]
SERVER_PID = sys.argv[3] if len(sys.argv) > 3 else None
RUNS, WARMUP = 30, 3


def post(body):
    data = json.dumps({"index": "cwl-*", "body": body}).encode()
    request = urllib.request.Request(BASE + "/api/search", data=data, headers={"content-type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.load(response)
    return (time.perf_counter() - started) * 1000, answer


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


print(f"{'query':<34} {'p50 ms':>8} {'p95 ms':>8} {'took p50':>9} {'hits':>10}")
for name, body in QUERIES:
    for _ in range(WARMUP):
        post(body)
    wall, took = [], []
    hits = 0
    for _ in range(RUNS):
        ms, answer = post(body)
        wall.append(ms)
        took.append(answer["took"])
        hits = answer["hits"]["total"]["value"]
    print(f"{name:<34} {percentile(wall, 50):8.1f} {percentile(wall, 95):8.1f} {statistics.median(took):9.0f} {hits:>10}")


# Discover (app::discover::page_request): 50 flows newest first with `_id` as the tiebreaker,
# the count and the auto-interval histogram, in one request; then the next page after it.
def discover_page(span, interval, after=None):
    body = {"size": 50, "track_total_hits": after is None, "query": {"bool": {"filter": [time_range(span)]}},
            "sort": [{"@timestamp": {"order": "desc", "unmapped_type": "boolean"}}, {"_id": "asc"}]}
    if after is None:
        body["aggs"] = {"2": {"date_histogram": {"field": "@timestamp", "fixed_interval": interval, "min_doc_count": 1}}}
    else:
        body["search_after"] = after
    return body


def timed(name, make_body):
    for _ in range(WARMUP):
        post(make_body())
    wall, took = [], []
    hits = 0
    for _ in range(RUNS):
        ms, answer = post(make_body())
        wall.append(ms)
        took.append(answer["took"])
        hits = answer["hits"].get("total", {}).get("value", len(answer["hits"]["hits"]))
    print(f"{name:<34} {percentile(wall, 50):8.1f} {percentile(wall, 95):8.1f} {statistics.median(took):9.0f} {hits:>10}")


for span, interval in [("24h", "30m"), ("7d", "3h")]:
    timed(f"discover first page, {span}", lambda: discover_page(span, interval))
    _, first = post(discover_page(span, interval))
    after = first["hits"]["hits"][-1]["sort"]
    timed(f"discover next page, {span}", lambda: discover_page(span, interval, after))


# Panels as the server draws them (`render.svg`: the request builder and response reader the
# browser uses, then the drawing), over 24 hours: the overview's Sankey of source network →
# destination network → port (the store is served with the demo's networks), and the top
# conversations, which a store of millions of flows a day may refuse (past a search's memory).
def render(vis_id, span, run):
    gte = time_range(span)["range"]["@timestamp"]["gte"]
    lte = time_range(span)["range"]["@timestamp"]["lte"]
    # A query of its own each run (a port no flow has), or the request cache would answer.
    query = urllib.parse.urlencode({"from": gte, "to": lte, "width": 900, "height": 400,
                                    "q": f"NOT dstport:{60000 + run}", "lang": "kuery"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(f"{BASE}/api/visualizations/{vis_id}/render.svg?{query}", timeout=120) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return (time.perf_counter() - started) * 1000, status


for vis_id in ["overview-who-talks", "overview-conversations"]:
    _, status = render(vis_id, "24h", 0)
    if status != 200:
        print(f"{'render ' + vis_id + ', 24h':<34} HTTP {status}")
        continue
    # Fewer runs: each one is a search of the whole day.
    wall = [render(vis_id, "24h", run)[0] for run in range(1, 11)]
    print(f"{'render ' + vis_id + ', 24h':<34} {percentile(wall, 50):8.1f} {percentile(wall, 95):8.1f}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# CSV: 100,000 rows of two columns, streamed; the server's memory sampled while it runs.
url = BASE + "/api/discover/export.csv?index=cwl-%2A&from=now-7d&to=now&columns=srcaddr%2Cdstport&limit=100000"
peak, sampling = [0], [True]
before = rss_kib(SERVER_PID) if SERVER_PID else 0


def sample():
    while sampling[0]:
        peak[0] = max(peak[0], rss_kib(SERVER_PID))
        time.sleep(0.01)


if SERVER_PID:
    sampler = threading.Thread(target=sample)
    sampler.start()
started = time.perf_counter()
with urllib.request.urlopen(url, timeout=300) as response:
    rows = sum(1 for _ in response) - 1
elapsed = time.perf_counter() - started
sampling[0] = False
if SERVER_PID:
    sampler.join()
    print(f"CSV export: {rows} rows in {elapsed * 1000:.0f} ms, server RSS {before // 1024} MiB before, peak {peak[0] // 1024} MiB during")
else:
    print(f"CSV export: {rows} rows in {elapsed * 1000:.0f} ms")

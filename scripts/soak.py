#!/usr/bin/env python3
"""Soak test: ingests and searches at the same time against one flowdash server on loopback
for a bounded time, sampling the server's memory. Prints one line per sample and a summary;
exits 1 when a request failed or memory kept growing (last quarter's mean anonymous RSS, the
heap, more than 15 % above the second quarter's; the mapped index files are shown beside it).

Usage: scripts/soak.py URL PID [SECONDS] [RATE]   (600 s; RATE records/s, default 10,000: a
busy VPC's flow logs)
"""
import json
import sys
import threading
import time
import urllib.request

url, pid = sys.argv[1], int(sys.argv[2])
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 600.0
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 10_000.0
assert url.startswith("http://127.") or url.startswith("http://localhost"), "loopback only"

stop = threading.Event()
counts = {"records": 0, "ingests": 0, "searches": 0, "errors": 0}
lock = threading.Lock()


def post(path, body, content_type):
    request = urllib.request.Request(url + path, data=body, method="POST", headers={"content-type": content_type})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def count(key, n=1):
    with lock:
        counts[key] += n


def ingester():
    """Sends 5,000 records a request, at RATE records a second at most."""
    batch = 0
    began = time.time()
    while not stop.is_set():
        ahead = began + batch * 5000 / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
        now = int(time.time())
        lines = "".join(
            f"2 123456789012 eni-{batch % 97:05d} 10.{(i >> 8) & 255}.{i & 255}.{batch % 250} 10.1.0.{i % 200} "
            f"{1024 + i} {(443, 22, 3389, 53)[i % 4]} 6 {1 + i % 9} {100 + i} {now - 60} {now} "
            f"{'REJECT' if i % 5 == 0 else 'ACCEPT'} OK\n"
            for i in range(5000)
        )
        try:
            report = post("/api/ingest", lines.encode(), "application/octet-stream")
            count("records", report["accepted"])
            count("ingests")
        except Exception as error:  # noqa: BLE001 - every failure counts
            print("ingest failed:", error, file=sys.stderr)
            count("errors")
        batch += 1


# A live dashboard over the last two minutes: once the soak has run that long, what each search
# reads is steady, so memory that still grows is a leak, not more data.
WINDOW = {"range": {"@timestamp": {"gte": "now-2m"}}}
PIE = {"size": 0, "query": WINDOW,
       "aggs": {"a": {"terms": {"field": "action", "size": 5}, "aggs": {"p": {"terms": {"field": "dstport", "size": 5}}}}}}
LINE = {"size": 0, "query": WINDOW,
        "aggs": {"t": {"date_histogram": {"field": "@timestamp", "fixed_interval": "5s"}, "aggs": {"a": {"terms": {"field": "action"}}}}}}
TALKERS = {"size": 0, "query": WINDOW, "aggs": {"s": {"terms": {"field": "srcaddr", "size": 10, "order": {"b": "desc"}}, "aggs": {"b": {"sum": {"field": "bytes"}}}}}}


def searcher():
    while not stop.is_set():
        try:
            body = json.dumps({"searches": [{"index": "cwl-*", "body": b} for b in (PIE, LINE, TALKERS)]}).encode()
            answer = post("/api/msearch", body, "application/json")
            failed = [r for r in answer["responses"] if r.get("status") != 200]
            count("errors", len(failed))
            count("searches", 3)
        except Exception as error:  # noqa: BLE001
            print("search failed:", error, file=sys.stderr)
            count("errors")


def memory_mib():
    """Resident memory: the heap and other anonymous memory, and the index files mapped in
    (which the kernel may drop at will, and which grow with the data by design)."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("RssAnon", "RssFile"):
                values[key] = int(rest.split()[0]) / 1024
    return values.get("RssAnon", 0.0), values.get("RssFile", 0.0)


threads = [threading.Thread(target=ingester)] + [threading.Thread(target=searcher) for _ in range(2)]
for thread in threads:
    thread.start()
samples = []
started = time.time()
print(f"{'seconds':>8} {'records':>10} {'searches':>9} {'errors':>6} {'anon MiB':>9} {'files MiB':>9}")
try:
    while time.time() - started < seconds:
        time.sleep(min(10.0, max(0.1, seconds - (time.time() - started))))
        anon, files = memory_mib()
        samples.append(anon)
        with lock:
            print(f"{time.time() - started:8.0f} {counts['records']:10d} {counts['searches']:9d} {counts['errors']:6d} {anon:9.0f} {files:9.0f}", flush=True)
finally:
    stop.set()
    for thread in threads:
        thread.join()

quarter = max(1, len(samples) // 4)
second = samples[quarter:2 * quarter] or samples
last = samples[-quarter:]
growth = (sum(last) / len(last)) / (sum(second) / len(second)) - 1
elapsed = time.time() - started
print(f"soak: {elapsed:.0f} s, {counts['records']} records ingested ({counts['records'] / elapsed:.0f}/s), "
      f"{counts['searches']} searches ({counts['searches'] / elapsed:.1f}/s), {counts['errors']} errors, "
      f"anonymous RSS {samples[0]:.0f} → {samples[-1]:.0f} MiB (max {max(samples):.0f}), last quarter vs second: {growth * 100:+.1f} %")
sys.exit(1 if counts["errors"] or growth > 0.15 else 0)

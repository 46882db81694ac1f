#!/usr/bin/env python3
"""Times dashboard queries against a running flowdash: p50 and p95 over repeated runs.

Usage: bench_queries.py BASE_URL STORE_NAME. Local only; a bounded number of requests.
"""
import json
import statistics
import sys
import time
import urllib.request

BASE, STORE = sys.argv[1], sys.argv[2]
RUNS, WARMUP = 30, 3


def time_range(span):
    return {"range": {"@timestamp": {"gte": f"now-{span}", "lte": "now", "format": "strict_date_optional_time"}}}


QUERIES = [
    ("seed pie: action > dstport, 24h", {"size": 0, "query": {"bool": {"filter": [time_range("24h")]}},
      "aggs": {"2": {"terms": {"field": "action", "size": 5}, "aggs": {"3": {"terms": {"field": "dstport", "size": 5}}}}}}),
    ("per-minute accept/reject, 1h", {"size": 0, "query": {"bool": {"filter": [time_range("1h")]}},
      "aggs": {"t": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1m", "min_doc_count": 0},
                     "aggs": {"a": {"terms": {"field": "action", "size": 3}}}}}}),
    ("per-minute accept/reject, 24h", {"size": 0, "query": {"bool": {"filter": [time_range("24h")]}},
      "aggs": {"t": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1m", "min_doc_count": 0},
                     "aggs": {"a": {"terms": {"field": "action", "size": 3}}}}}}),
    ("top 10 sources by bytes, 7d", {"size": 0, "query": {"bool": {"filter": [time_range("7d")]}},
      "aggs": {"s": {"terms": {"field": "srcaddr", "size": 10, "order": {"b": "desc"}},
                     "aggs": {"b": {"sum": {"field": "bytes"}}}}}}),
    ("query_string + CIDR count, 24h", {"size": 0, "track_total_hits": True, "query": {"bool": {"filter": [
        time_range("24h"), {"query_string": {"query": "srcaddr:10.0.0.0/8 AND NOT dstport:443"}}]}}}),
    # Free text: numbers and addresses are answered from the columns (ARCHITECTURE.md).
    ("free text: an address, 24h", {"size": 0, "track_total_hits": True, "query": {"bool": {"filter": [
        time_range("24h"), {"query_string": {"query": "10.11.0.28"}}]}}}),
    ("free text: 10.11.*, 24h", {"size": 0, "track_total_hits": True, "query": {"bool": {"filter": [
        time_range("24h"), {"query_string": {"query": "10.11.*"}}]}}}),
    # And the other words of a record from its keyword columns, in any case.
    ("free text: reject, 24h", {"size": 0, "track_total_hits": True, "query": {"bool": {"filter": [
        time_range("24h"), {"query_string": {"query": "reject"}}]}}}),
    ("free text: eni-00*, 24h", {"size": 0, "track_total_hits": True, "query": {"bool": {"filter": [
        time_range("24h"), {"query_string": {"query": "eni-00*"}}]}}}),
]


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

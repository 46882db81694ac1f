"""The dashboard queries the benchmarks time: the seed's pie, accept/reject over time, top
talkers, top conversations, the Sankey, a CIDR query and free text, as the overview's panels
send them to /api/search.

Ranges end now, or at FLOWDASH_BENCH_END (UTC, `2026-12-03T09:38:41Z`) when set, so that two
runs at different times search the same flows of a generated file (scripts/ab_instructions.py).
"""
import datetime
import ipaddress
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
END = os.environ.get("FLOWDASH_BENCH_END")
SPAN_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def time_range(span):
    if not END:
        return {"range": {"@timestamp": {"gte": f"now-{span}", "lte": "now", "format": "strict_date_optional_time"}}}
    end = datetime.datetime.strptime(END, "%Y-%m-%dT%H:%M:%SZ")
    start = end - datetime.timedelta(seconds=int(span[:-1]) * SPAN_SECONDS[span[-1]])
    return {"range": {"@timestamp": {"gte": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "lte": END,
                                     "format": "strict_date_optional_time"}}}


def demo_networks():
    """The demo's named networks, name -> range, from server/src/ingest/demo_networks.txt."""
    named = {}
    for line in (REPO / "server/src/ingest/demo_networks.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            cidr, name = (part.strip() for part in line.split("=", 1))
            named[name] = cidr
    return named


def networks(field):
    """A split by the demo's named networks, as the overview's Sankey sends it: each range less
    the ones named inside it."""
    named = demo_networks()
    filters = {}
    for name, cidr in named.items():
        network = ipaddress.ip_network(cidr)
        inside = [other for other in named.values() if other != cidr
                  and ipaddress.ip_network(other).version == network.version
                  and ipaddress.ip_network(other).subnet_of(network)]
        term = {"term": {field: cidr}}
        filters[name] = ({"bool": {"filter": [term], "must_not": [{"term": {field: other}} for other in inside]}}
                         if inside else term)
    return {"filters": {"filters": filters, "other_bucket_key": "Unnamed"}}


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
    # Top conversations: every (source, destination, port, protocol) counted. One hour: nearly
    # every demo flow is a conversation of its own, and a day of the 7-day store is past a
    # search's memory budget (a 429).
    ("top conversations by bytes, 1h", {"size": 0, "query": {"bool": {"filter": [time_range("1h")]}},
      "aggs": {"c": {"multi_terms": {"terms": [{"field": "srcaddr"}, {"field": "dstaddr"}, {"field": "dstport"},
                                               {"field": "protocol"}], "size": 10, "order": {"b": "desc"}},
                     "aggs": {"b": {"sum": {"field": "bytes"}}, "p": {"sum": {"field": "packets"}}}}}}),
    ("Sankey: net > net > dstport, 24h", {"size": 0,
      "query": {"bool": {"filter": [time_range("24h")]}},
      "aggs": {"src": {**networks("srcaddr"), "aggs": {"dst": {**networks("dstaddr"), "aggs": {
          "port": {"terms": {"field": "dstport", "size": 6, "order": {"_count": "desc"}}}}}}}}}),
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

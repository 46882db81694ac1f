#!/usr/bin/env python3
"""`_bulk` ingest throughput: starts `BIN serve` on 127.0.0.1 with a fresh data directory and
sends N flow documents, shaped as the AWS LogsToElasticsearch Lambda sends them, in `_bulk`
requests of SIZE documents, one request at a time, then prints records/s (wall time from the
first request to the last answer; every answer has committed its documents).
Usage: scripts/bench_bulk.py BIN [N=200000] [SIZE=1000] [PORT=3196]"""
import json, os, random, shutil, subprocess, sys, tempfile, time, urllib.request

binary = sys.argv[1]
total = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
size = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
port = int(sys.argv[4]) if len(sys.argv) > 4 else 3196
url = f"http://127.0.0.1:{port}"

rng = random.Random(7)
start = int(time.time()) - 6 * 3600


def request_body(first):
    lines = []
    for n in range(first, min(first + size, total)):
        t = start + n * (6 * 3600) // total
        src = f"10.0.{rng.randrange(256)}.{rng.randrange(256)}"
        dst = f"172.16.{rng.randrange(256)}.{rng.randrange(256)}"
        sport, dport = rng.randrange(1024, 65536), rng.choice([22, 80, 443, 3306, 5432])
        packets, octets = rng.randrange(1, 100), rng.randrange(40, 100_000)
        action = "ACCEPT" if rng.random() < 0.9 else "REJECT"
        eni = f"eni-{rng.randrange(16):017x}"
        message = f"2 123456789012 {eni} {src} {dst} {sport} {dport} 6 {packets} {octets} {t} {t + 60} {action} OK"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))
        index = time.strftime("cwl-%Y.%m.%d", time.gmtime(t))
        doc_id = f"{n:056d}"
        lines.append(json.dumps({"index": {"_index": index, "_type": "vpc-flow-logs", "_id": doc_id}}))
        lines.append(json.dumps({
            "version": 2, "account_id": 123456789012, "interface_id": eni,
            "srcaddr": src, "dstaddr": dst, "srcport": sport, "dstport": dport, "protocol": 6,
            "packets": packets, "bytes": octets, "start": t, "end": t + 60, "action": action,
            "log_status": "OK", "@id": doc_id, "@timestamp": stamp, "@message": message,
            "@owner": "123456789012", "@log_group": "vpc-flow-logs", "@log_stream": f"{eni}-all",
        }))
    return ("\n".join(lines) + "\n").encode()


bodies = [request_body(first) for first in range(0, total, size)]
data = tempfile.mkdtemp(prefix="flowdash-bulk-")
server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/api/health", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    started = time.monotonic()
    for body in bodies:
        request = urllib.request.Request(f"{url}/es/_bulk", data=body, method="POST",
                                         headers={"Content-Type": "application/x-ndjson"})
        answer = json.load(urllib.request.urlopen(request, timeout=300))
        if answer["errors"]:
            sys.exit(f"bulk errors: {json.dumps(answer['items'][:3])}")
    elapsed = time.monotonic() - started
    count = json.load(urllib.request.urlopen(f"{url}/es/cwl-*/_count"))["count"]
    print(f"{total} documents in {len(bodies)} _bulk requests of {size}: {elapsed:.2f} s, "
          f"{total / elapsed:,.0f} records/s ({count} stored)")
finally:
    server.terminate()
    server.wait()
    shutil.rmtree(data, ignore_errors=True)

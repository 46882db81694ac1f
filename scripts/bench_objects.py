#!/usr/bin/env python3
"""Saved-object lists at scale: starts `BIN serve` on 127.0.0.1 with a fresh data directory,
imports N visualizations (copies of the overview's top talkers, `_import` in chunks), then
prints the median time and size of: the /visualize list (first page, a later page, a
search), the overview dashboard page, one `_find` page, and creating and updating a
visualization.
Usage: scripts/bench_objects.py BIN [N=20000] [PORT=3195] [SITE_ROOT=target/site]"""
import json, shutil, statistics, subprocess, sys, tempfile, time, urllib.request

binary = sys.argv[1]
total = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
port = int(sys.argv[3]) if len(sys.argv) > 3 else 3195
site_root = sys.argv[4] if len(sys.argv) > 4 else "target/site"
url = f"http://127.0.0.1:{port}"
HEADERS = {"kbn-xsrf": "true"}


def call(method, path, body=None, content_type="application/json"):
    data = body.encode() if isinstance(body, str) else body
    headers = dict(HEADERS)
    if data is not None:
        headers["content-type"] = content_type
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as answer:
        payload = answer.read()
    return (time.perf_counter() - started) * 1000, payload


def median_of(runs, method, path, body=None):
    times, size = [], 0
    for _ in range(runs):
        ms, payload = call(method, path, body)
        times.append(ms)
        size = len(payload)
    return statistics.median(times), size


data_dir = tempfile.mkdtemp(prefix="flowdash-bench-objects-")
server = subprocess.Popen(
    [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir, "--site-root", site_root],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            call("GET", "/api/health")
            break
        except Exception:
            time.sleep(0.1)
    _, template = call("GET", "/api/saved_objects/visualization/overview-top-talkers")
    template = json.loads(template)
    started = time.perf_counter()
    chunk = 2000
    for first in range(0, total, chunk):
        lines = []
        for n in range(first, min(first + chunk, total)):
            attributes = dict(template["attributes"], title=f"Bench flows {n:05d}")
            lines.append(json.dumps({"id": f"bench-{n}", "type": "visualization",
                                     "attributes": attributes, "references": template.get("references", [])}))
        call("POST", "/api/saved_objects/_import?overwrite=true", "\n".join(lines) + "\n", "application/x-ndjson")
    print(f"imported {total} visualizations in {time.perf_counter() - started:.1f}s")
    for label, path in [
        ("/visualize (first page)", "/visualize"),
        ("/visualize?page=200", "/visualize?page=200"),
        ("/visualize?search=12345", "/visualize?search=12345"),
        ("overview dashboard page", "/"),
        ("_find, 50 per page", "/api/saved_objects/_find?type=visualization&per_page=50&page=100"),
    ]:
        ms, size = median_of(5, "GET", path)
        print(f"{label:32} {ms:8.1f} ms {size / 1024:10.1f} KiB")
    attributes = dict(template["attributes"], title="Bench created")
    create_times, update_times = [], []
    for n in range(20):
        ms, payload = call("POST", f"/api/saved_objects/visualization/created-{n}",
                           json.dumps({"attributes": attributes}))
        create_times.append(ms)
        version = json.loads(payload)["version"]
        ms, _ = call("PUT", f"/api/saved_objects/visualization/created-{n}",
                     json.dumps({"attributes": dict(attributes, title=f"Bench updated {n}"), "version": version}))
        update_times.append(ms)
    print(f"{'create a visualization':32} {statistics.median(create_times):8.1f} ms")
    print(f"{'update a visualization':32} {statistics.median(update_times):8.1f} ms")
finally:
    server.terminate()
    server.wait()
    shutil.rmtree(data_dir, ignore_errors=True)

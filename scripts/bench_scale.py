#!/usr/bin/env python3
"""The scale curve: flowdash at 1M, 10M and 100M flows over 30 days.

For each size:
  - a version 2 file of demo flows over 30 days (`flowdash demo`, then cut to 14 fields);
  - `flowdash ingest` of it into a fresh store: records/s and the peak resident memory;
  - the store's size on disk;
  - a server on the store: its resident memory (its own, and the store's files it mapped)
    once the hourly rollups are made and after the pages below, and its peak;
  - in Chromium (end2end/bench/drawn.cjs), navigation to every overview panel shown (the
    server's images, before the page hydrates) and drawn by the browser, over the last hour,
    24 hours, 7 days and 30 days, the median of three loads. Each load asks for a
    range of its own (`to` a few minutes ahead), so no answer comes from the request cache.

Usage: bench_scale.py BIN WORK SITE_ROOT [FLOWS...]   (default 1000000 10000000 100000000)

Local only (127.0.0.1) and bounded: three page loads per range. The 100M file takes about
11 GB and its store about 12 GB; each is deleted once measured (the stores are kept when
FLOWDASH_BENCH_KEEP_STORES is set).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

BIN, WORK, SITE_ROOT = sys.argv[1:4]
SIZES = [int(flows) for flows in sys.argv[4:]] or [1_000_000, 10_000_000, 100_000_000]
HOURS = 30 * 24
PORT = 3196
BASE = f"http://127.0.0.1:{PORT}"
RANGES = ["1h", "24h", "7d", "30d"]
LOADS = 3
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETWORKS = os.path.join(REPO, "server/src/ingest/demo_networks.txt")


def mib(kib):
    return f"{kib / 1024:.0f} MiB"


def size_on_disk(path):
    return int(subprocess.run(["du", "-sb", path], capture_output=True, text=True, check=True).stdout.split()[0])


def memory(pid):
    """A process's resident memory now: its own (heap) and the mapped files it touched (the
    store's segments, which the kernel can drop)."""
    return (f"{mib(status_kib(pid, 'RssAnon'))} own + {mib(status_kib(pid, 'RssFile'))} of mapped files")


def status_kib(pid, key):
    """A line of /proc/PID/status in KiB (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def health():
    with urllib.request.urlopen(BASE + "/api/health", timeout=5) as response:
        return json.load(response)


def newest_flow_ms():
    """The newest flow's time, epoch ms, from the server's own search API."""
    body = {"index": "cwl-*", "body": {"size": 0, "aggs": {"newest": {"max": {"field": "@timestamp"}}}}}
    request = urllib.request.Request(BASE + "/api/search", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return int(json.load(response)["aggregations"]["newest"]["value"])


def wait_for_rollups():
    """Until every day is rolled up, or none more was for 45 s (the server looks every 30 s;
    a day of fewer than 20,000 flows is never rolled up)."""
    started = last_change = time.monotonic()
    seen = -1
    while True:
        state = health()
        rolled = state.get("rolled_up_indices", 0)
        if rolled != seen:
            seen, last_change = rolled, time.monotonic()
        if rolled >= state["indices"] or time.monotonic() - last_change > 45:
            # The time the last one was made, without the quiet wait after it.
            return rolled, state["indices"], last_change - started
        time.sleep(2)


def make_file(flows, path):
    """The file of `flows` demo flows, made unless a finished one is there (a file being
    made is `.part` until it is whole)."""
    if os.path.exists(path):
        return False
    demo = subprocess.Popen([BIN, "demo", "--flows", str(flows), "--hours", str(HOURS), "--seed", "21",
                             "--output", "/dev/stdout"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    with open(path + ".part", "w") as out:
        cut = subprocess.run("tail -n +2 | awk '{ $1 = 2; NF = 14; print }'", shell=True, stdin=demo.stdout,
                             stdout=out)
    demo.stdout.close()
    if demo.wait() != 0 or cut.returncode != 0:
        sys.exit(f"making {path} failed")
    os.rename(path + ".part", path)
    return True


def ingest(path, store):
    """Records/s and peak RSS (KiB) of `flowdash ingest`, from its own line and GNU time."""
    shutil.rmtree(store, ignore_errors=True)
    started = time.monotonic()
    run = subprocess.run(["/usr/bin/time", "-v", BIN, "ingest", "--data-dir", store, path],
                         capture_output=True, text=True)
    seconds = time.monotonic() - started
    if run.returncode != 0:
        sys.exit(f"ingest failed:\n{run.stderr[-2000:]}")
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
    return seconds, peak


def overview_drawn(from_, to, nonce):
    """Median ms from navigation to every overview panel shown (the server's images) and to
    every panel drawn by the browser, over LOADS loads."""
    env = dict(os.environ, PATH=os.path.join(REPO, "tools/node_modules/.bin") + ":" + os.environ["PATH"])
    drawn, shown = [], []
    for load in range(LOADS):
        url = f"{BASE}/?from={from_}&to={to}%2B{nonce + load}m"
        try:
            run = subprocess.run(["node", "bench/drawn.cjs", "overview", url, "1"],
                                 cwd=os.path.join(REPO, "end2end"), capture_output=True, text=True, env=env,
                                 timeout=300)
        except subprocess.TimeoutExpired:
            return "failed: no answer within 300 s"
        lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
        if run.returncode != 0 or not lines:
            return f"failed: {(run.stderr or run.stdout)[-300:]}"
        if lines[0]["panel_errors"]:
            return f"{lines[0]['panel_errors']} panels failed: " + "; ".join(lines[0]["failed"])
        drawn.append(lines[0]["drawn_ms"])
        shown.append(lines[0]["visible_ms"])
    drawn.sort()
    shown.sort()
    return (f"shown {shown[len(shown) // 2]} ms, drawn {drawn[len(drawn) // 2]} ms"
            f" (min {drawn[0]}, max {drawn[-1]})")


def measure(flows):
    path = os.path.join(WORK, f"scale-{flows}.log")
    store = os.path.join(WORK, f"scale-{flows}-store")
    print(f"== {flows:,} flows over 30 days", flush=True)
    made = time.monotonic()
    how = f"made in {time.monotonic() - made:.0f} s" if make_file(flows, path) else "made before"
    print(f"   file: {os.path.getsize(path) / 1e9:.2f} GB, {how}", flush=True)
    seconds, peak = ingest(path, store)
    os.remove(path)
    print(f"   ingest: {flows / seconds / 1e3:.0f}k records/s ({seconds:.0f} s), peak RSS {mib(peak)}", flush=True)
    print(f"   store on disk: {size_on_disk(store) / 1e9:.2f} GB", flush=True)
    server = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{PORT}", "--data-dir", store,
                               "--site-root", SITE_ROOT, "--networks", NETWORKS],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                health()
                break
            except OSError:
                time.sleep(0.2)
        rolled, days, waited = wait_for_rollups()
        print(f"   rollups: {rolled} of {days} days after {waited:.0f} s;"
              f" server resident {memory(server.pid)}", flush=True)
        # The ranges end at the newest flow (the demo ended when it was made, up to a quarter
        # of an hour ago), a few minutes on for each load; `now` math as the time picker's.
        newest = newest_flow_ms()
        minutes_ago = max(0, int((time.time() * 1000 - newest) // 60_000))
        to = f"now-{minutes_ago}m"
        for index, span in enumerate(RANGES):
            from_ = f"{to}-{span}"
            shown = overview_drawn(from_, to, 1 + index)
            print(f"   overview, last {span:>3}: {shown}", flush=True)
        print(f"   server resident {memory(server.pid)}; peak RSS {mib(status_kib(server.pid, 'VmHWM'))}",
              flush=True)
    finally:
        server.terminate()
        server.wait()
        if not os.environ.get("FLOWDASH_BENCH_KEEP_STORES"):
            shutil.rmtree(store, ignore_errors=True)


for size in SIZES:
    measure(size)

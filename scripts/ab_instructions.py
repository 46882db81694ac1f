#!/usr/bin/env python3
"""A/B of two flowdash builds by instructions executed, not seconds: repeatable on a noisy
2-core VM, where wall times of one binary spread 2-3x between runs.

Each side ingests the same generated flow file into a store of its own, lets a server make
its rollups, then serves it under `valgrind --tool=callgrind`. For each dashboard query of
bench_query_set.py (ranges anchored at the file's end, so both sides search the same flows):
one warm-up request, the counters zeroed, REPS requests, the counters dumped. Every request
carries a `must_not` of its own, so the request cache never answers. Sides alternate for
ROUNDS rounds. Prints a Markdown table of instructions per request (all threads, HTTP
included) and after/before.

Usage: scripts/ab_instructions.py BEFORE_BIN AFTER_BIN [--flows N] [--rounds R] [--work DIR]
Build each side with `cargo build --release -p server --bin flowdash` in its own worktree.
Local only: servers listen on 127.0.0.1; needs valgrind (callgrind_control).
"""
import argparse
import datetime
import glob
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

PORT = 3189
REPS = 3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--flows", type=int, default=1_430_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work", default="/tmp/flowdash-ab")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    flows = os.path.join(args.work, "flows.log.gz")
    end = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    run([args.after, "demo", "--flows", str(args.flows), "--hours", "24", "--seed", "5", "--output", flows])
    os.environ["FLOWDASH_BENCH_END"] = end
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_query_set import QUERIES

    sides = {"before": args.before, "after": args.after}
    for side, binary in sides.items():
        store = os.path.join(args.work, f"store-{side}")
        shutil.rmtree(store, ignore_errors=True)
        run([binary, "ingest", "--data-dir", store, flows])
        settle(binary, store)
    counts = {}  # (query, side) -> [instructions per request, one per round]
    for round_number in range(1, args.rounds + 1):
        for side, binary in sides.items():
            for name, per_request in measure(binary, side, round_number, args.work, QUERIES):
                counts.setdefault((name, side), []).append(per_request)
                print(f"round {round_number} {side:<6} {name:<34} {per_request:>14,}", file=sys.stderr)
    rounds = " | ".join(f"{side} r{r}" for side in sides for r in range(1, args.rounds + 1))
    print(f"| query | {rounds} | after / before |")
    print("|---|" + "---:|" * (2 * args.rounds + 1))
    for name, _ in QUERIES:
        before, after = counts[(name, "before")], counts[(name, "after")]
        cells = " | ".join(f"{c / 1e6:,.1f} M" for c in before + after)
        print(f"| {name} | {cells} | {sum(after) / sum(before):.3f} |")


def run(command):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def measure(binary, side, round_number, work, queries):
    """Serves the side's store under callgrind; answers (query, instructions per request)."""
    out = os.path.join(work, f"callgrind-{side}-{round_number}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.out.%p", binary, "serve",
         "--listen", f"127.0.0.1:{PORT}", "--data-dir", os.path.join(work, f"store-{side}")],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(out, "serve.log"), "w"))
    try:
        wait_for_health(server)
        for index, (name, body) in enumerate(queries):
            post(body)
            control("-z", server.pid)
            for _ in range(REPS):
                post(body)
            control(f"--dump=q{index}", server.pid)
            yield name, newest_total(out) // REPS
    finally:
        server.terminate()
        server.wait()


def settle(binary, store):
    """Serves a new store natively until its rollups are made: a server makes them for days
    left unwritten for 30 s, and one made while instructions are counted (under valgrind it
    takes minutes) would be counted in whichever queries it overlaps. Done when the server has
    run 35 s and then used no CPU for 3 s."""
    server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{PORT}", "--data-dir", store],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = time.monotonic()
        wait_for_health(server)
        last, idle_since = cpu_ticks(server.pid), time.monotonic()
        while time.monotonic() - started < 300:
            time.sleep(0.5)
            now, ticks = time.monotonic(), cpu_ticks(server.pid)
            if ticks != last:
                last, idle_since = ticks, now
            elif now - started >= 35 and now - idle_since >= 3:
                return
        raise SystemExit("the server making the store's rollups did not settle within 300 s")
    finally:
        server.terminate()
        server.wait()


def cpu_ticks(pid):
    """The CPU time a process has used (user and system, in clock ticks)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_for_health(server):
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server under valgrind exited with {server.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/health", timeout=5).read()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server under valgrind did not answer within 300 s")


NONCE = itertools.count()


def post(body):
    """Searches with a `must_not` of a value no flow has, new each time, so that the request
    cache never answers (an identical request would be a cache hit, not a search)."""
    body = dict(body)
    query = body.get("query", {"match_all": {}})
    fresh = {"term": {"account_id": f"no-such-account-{next(NONCE)}"}}
    body["query"] = {"bool": {"must": [query], "must_not": [fresh]}}
    data = json.dumps({"index": "cwl-*", "body": body}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}/api/search", data=data,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        json.load(response)


def control(option, pid):
    subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True)


def newest_total(out):
    """The instruction total of the newest callgrind dump in `out`."""
    newest = max(glob.glob(f"{out}/callgrind.out.*"), key=os.path.getmtime)
    with open(newest) as dump:
        for line in dump:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise SystemExit(f"{newest} has no totals")


if __name__ == "__main__":
    main()

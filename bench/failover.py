#!/usr/bin/python3
"""Failover bench: three berthd managers in a network-namespace lab
(tests/cluster), then BENCH_TRIALS (default 20) times: kill -9 the
leader's daemon and time until a write (POST /services/create) through a
surviving manager succeeds; the killed manager is restarted and rejoins
as a follower before the next trial.  Also: the time of `docker swarm
join` of a manager, sequential writes through the leader's API with
three voters (p50/p99, requests per second: HTTP, JSON, raft commit on a
majority, SQLite apply), and raw proposals with three voters whose raft
traffic crosses the swarm port's TLS (tests/unit/test_cluster_members:
sequential with p50/p99 commit latency, and 64 in flight).

Run from the repo root as root: /usr/bin/python3 bench/failover.py
Knobs: BERTHD (default build/berthd), BENCH_TRIALS, BENCH_WRITES (300),
BENCH_STRICT=1 (exit 1 when a target is missed: failover median < 1 s,
max < 2 s, at least 2000 proposals/s with three voters over TLS).  Nothing touches the host's network: the lab lives in
namespaces of its own, removed at exit.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("BERTHD", os.path.join(REPO, "build", "berthd"))
sys.path.insert(0, os.path.join(REPO, "tests", "cluster"))
import conftest as lab_mod  # noqa: E402

TRIALS = int(os.environ.get("BENCH_TRIALS", "20"))
WRITES = int(os.environ.get("BENCH_WRITES", "300"))


def create(host, name, timeout=2):
    spec = {"Name": name, "TaskTemplate": {"ContainerSpec": {"Image": "busybox:latest"}},
            "Mode": {"Replicated": {"Replicas": 0}}}
    try:
        status, _, _ = host.request("POST", "/v1.47/services/create", body=json.dumps(spec),
                                    headers={"Content-Type": "application/json"}, timeout=timeout)
    except OSError:
        return False
    return status == 201


def leader_name(host):
    try:
        status, _, data = host.request("GET", "/v1.47/nodes", timeout=2)
    except OSError:
        return None
    if status != 200:
        return None
    for n in json.loads(data):
        if (n.get("ManagerStatus") or {}).get("Leader"):
            return n["Description"]["Hostname"]
    return None


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def tls_proposals():
    """(sequential/s, p50 ms, p99 ms, pipelined/s) from the unit test's
    three voters over TLS on loopback."""
    subprocess.run(["make", "-s", "build/tests/test_cluster_members"], cwd=REPO, check=True)
    out = subprocess.run([os.path.join(REPO, "build", "tests", "test_cluster_members")], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    seq = re.search(r"three voters over TLS: \d+ sequential proposals in [\d.]+ s: (\d+)/s, commit p50 ([\d.]+) ms "
                    r"p99 ([\d.]+) ms", out)
    pipe = re.search(r"three voters over TLS: \d+ proposals, \d+ in flight: [\d.]+ s, (\d+)/s", out)
    if not seq or not pipe:
        raise SystemExit("bench: no TLS proposal figures in test_cluster_members' output:\n" + out)
    return int(seq.group(1)), float(seq.group(2)), float(seq.group(3)), int(pipe.group(1))


def main():
    seq, p50, p99, piped = tls_proposals()
    lab = lab_mod.Lab(tempfile.mkdtemp(prefix="berth-bench-lab"), 3)
    try:
        lab.start()
        h1 = lab.hosts[0]
        h1.docker("swarm", "init", "--advertise-addr", h1.addr)
        token = h1.docker("swarm", "join-token", "-q", "manager").out.strip()
        joins = []
        for h in lab.hosts[1:]:
            t = time.time()
            h.docker("swarm", "join", "--token", token, "--advertise-addr", h.addr, h1.addr + ":2377")
            joins.append(time.time() - t)
        by_name = {"h%d" % h.index: h for h in lab.hosts}

        lat = []
        t0 = time.time()
        for i in range(WRITES):
            t = time.time()
            assert create(h1, "w%d" % i, timeout=10), "write %d failed" % i
            lat.append(time.time() - t)
        rate = WRITES / (time.time() - t0)

        times = []
        for trial in range(TRIALS):
            leader = None
            while leader is None:
                leader = leader_name(lab.hosts[0] if lab.hosts[0].proc else lab.hosts[1])
                time.sleep(0.02)
            victim = by_name[leader]
            survivors = [h for h in lab.hosts if h is not victim]
            killed = time.time()
            victim.kill9()
            n = 0
            while True:
                n += 1
                if create(survivors[n % 2], "t%d-%d" % (trial, n), timeout=2):
                    break
                if time.time() - killed > 30:
                    raise SystemExit("bench: no write succeeded 30 s after the leader died")
                time.sleep(0.01)
            times.append(time.time() - killed)
            victim.start()
            while leader_name(victim) is None:
                time.sleep(0.05)
            print("trial %2d: %s killed, a write succeeded after %.3f s" % (trial + 1, leader, times[-1]))

        print()
        print("manager join (docker swarm join): %s s" % ", ".join("%.2f" % j for j in joins))
        print("writes through the leader, 3 voters: %.0f/s, latency p50 %.1f ms p99 %.1f ms" %
              (rate, pct(lat, 50) * 1000, pct(lat, 99) * 1000))
        print("failover over %d trials: min %.3f s, median %.3f s, max %.3f s" %
              (len(times), min(times), statistics.median(times), max(times)))
        print("raw proposals, 3 voters over TLS: %d/s sequential (commit p50 %.2f ms, p99 %.2f ms), %d/s with 64 in "
              "flight" % (seq, p50, p99, piped))
        ok = statistics.median(times) < 1.0 and max(times) < 2.0 and max(seq, piped) >= 2000
        print("targets (failover median < 1 s, max < 2 s; >= 2000 proposals/s): %s" % ("met" if ok else "MISSED"))
        if os.environ.get("BENCH_STRICT") == "1" and not ok:
            sys.exit(1)
    finally:
        lab.destroy()


if __name__ == "__main__":
    main()

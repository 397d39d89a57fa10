#!/usr/bin/python3
"""Cluster benchmarks: raft proposals per second with p50/p99 commit
latency (the cluster store's own measurement: 10 000 sequential proposals
on a one-member cluster, from tests/unit/test_cluster_store), and the time
from `docker service create --detach` to every task running for 1, 10 and
100 replicas on one node.

Run from the repo root as root: /usr/bin/python3 bench/cluster.py
Knobs: BERTHD (default build/berthd), BENCH_STRICT=1 (exit 1 when a target
is missed).  The daemon runs in a network namespace of its own, removed at
exit.
"""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from containers import FIXTURE, REPO, Bench, prepare, report  # noqa: E402

TARGET_100_S = 3.0


def proposals():
    """Runs the store's own benchmark and returns (per second, p50 ms, p99 ms)."""
    binary = os.path.join(REPO, "build", "tests", "test_cluster_store")
    subprocess.run(["make", "-s", "build/tests/test_cluster_store"], cwd=REPO, check=True)
    out = subprocess.run([binary], capture_output=True, check=True, cwd=REPO).stdout.decode()
    m = re.search(r"proposals in [\d.]+ s: (\d+)/s, latency p50 ([\d.]+) ms p99 ([\d.]+) ms", out)
    if not m:
        raise SystemExit("bench: no proposal figures in test_cluster_store's output:\n" + out)
    return float(m.group(1)), float(m.group(2)), float(m.group(3))


def sealed_vs_plain():
    """The store's throughput with encryption at rest and without (tests/unit/test_secrets)."""
    binary = os.path.join(REPO, "build", "tests", "test_secrets")
    subprocess.run(["make", "-s", "build/tests/test_secrets"], cwd=REPO, check=True)
    out = subprocess.run([binary], capture_output=True, check=True, cwd=REPO).stderr.decode()
    m = re.search(r"proposals sealed (\d+)/s, plain (\d+)/s", out)
    if not m:
        raise SystemExit("bench: no sealed/plain figures in test_secrets' output:\n" + out)
    return float(m.group(1)), float(m.group(2))


def running(b, name):
    out = subprocess.run(["docker", "service", "ls", "--filter", "name=" + name, "--format", "{{.Replicas}}"],
                         env=b.env, capture_output=True, check=True).stdout.decode().strip()
    have, want = out.split("/") if "/" in out else ("0", "1")
    return int(have), int(want.split()[0])


def time_to_running(b, replicas):
    name = "bench%d" % replicas
    t = time.monotonic()
    b.docker("service", "create", "-d", "--name", name, "--replicas", str(replicas), "--stop-grace-period", "1s",
             "busybox", "sleep", "600")
    while True:
        have, want = running(b, name)
        if have == replicas:
            break
        if time.monotonic() - t > 120:
            raise SystemExit("bench: %s did not converge (%d/%d)" % (name, have, want))
        time.sleep(0.02)
    took = time.monotonic() - t
    b.docker("service", "rm", name)
    # Wait for the containers to go before the next round.
    while subprocess.run(["docker", "ps", "-q", "--filter", "label=com.docker.swarm.service.name=" + name],
                         env=b.env, capture_output=True).stdout.strip():
        time.sleep(0.2)
    return took


def main():
    prepare()
    rate, p50, p99 = proposals()
    sealed, plain = sealed_vs_plain()
    b = Bench()
    results = [("raft proposals/s (10 000 sequential, one member)", rate, "-", None),
               ("  commit latency p50 (ms)", p50, "-", None),
               ("  commit latency p99 (ms)", p99, "-", None),
               ("proposals/s encrypted at rest (5 000 sequential)", sealed, ">= 0.8x", sealed >= 0.8 * plain),
               ("  same, plain (no encryption)", plain, "-", None)]
    try:
        b.start()
        b.docker("load", "-i", FIXTURE)
        for n in (1, 10, 100):
            took = time_to_running(b, n)
            target = "< %.0f" % TARGET_100_S if n == 100 else "-"
            results.append(("service create -d to %d/%d running (s)" % (n, n), took, target,
                            took < TARGET_100_S if n == 100 else None))
    finally:
        b.stop()
    missed = report(results, "%10.2f")
    if missed and os.environ.get("BENCH_STRICT") == "1":
        sys.exit(1)


if __name__ == "__main__":
    main()

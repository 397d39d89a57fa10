#!/usr/bin/python3
"""Node failure bench: one manager and two workers in a network-namespace
lab (tests/cluster), a service of BENCH_REPLICAS (6) busybox tasks, then
BENCH_TRIALS (10) times: kill -9 the daemon of the worker that runs tasks
and time until the service has all its replicas running again on the live
nodes (GET /tasks on the manager, every 20 ms).  The killed worker is
restarted and is Ready again before the next trial, which kills the other
worker.  Also: a stall shorter than the grace period (the worker's link cut
for BENCH_STALL seconds, default 1.5) must move nothing.

The time splits in two: the grace period (HEARTBEAT x 3: SwarmKit's
multiplier) before the node is Down, then the orchestrator's replacement
and the new tasks' start.  BENCH_HEARTBEAT (default 1s) is the cluster's
Dispatcher.HeartbeatPeriod (`swarm init --dispatcher-heartbeat`); Docker's
default is 5s, which makes the grace period alone 15 s.

Run from the repo root as root: /usr/bin/python3 bench/node_failure.py
Knobs: BERTHD (default build/berthd), BENCH_TRIALS, BENCH_REPLICAS,
BENCH_HEARTBEAT, BENCH_STALL, BENCH_STRICT=1 (exit 1 when the target,
median < 5 s, is missed).  Nothing touches the host's network.
"""

import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("BERTHD", os.path.join(REPO, "build", "berthd"))
sys.path.insert(0, os.path.join(REPO, "tests", "cluster"))
import conftest as lab_mod  # noqa: E402

TRIALS = int(os.environ.get("BENCH_TRIALS", "10"))
REPLICAS = int(os.environ.get("BENCH_REPLICAS", "6"))
HEARTBEAT = os.environ.get("BENCH_HEARTBEAT", "1s")
STALL = float(os.environ.get("BENCH_STALL", "1.5"))
FIXTURE = os.path.join(REPO, "build", "fixtures", "busybox.tar")


def tasks_by_node(manager):
    """{node ID: running tasks} of the service's tasks meant to run."""
    q = urllib.parse.quote(json.dumps({"service": ["svc"], "desired-state": ["running"]}))
    try:
        status, _, data = manager.request("GET", "/v1.47/tasks?filters=" + q, timeout=2)
    except OSError:
        return {}
    per = {}
    if status == 200:
        for t in json.loads(data):
            if t["Status"]["State"] == "running":
                per[t["NodeID"]] = per.get(t["NodeID"], 0) + 1
    return per


def node_state(manager, node_id):
    status, _, data = manager.request("GET", "/v1.47/nodes/" + node_id, timeout=2)
    return json.loads(data)["Status"]["State"] if status == 200 else None


def wait(cond, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise SystemExit("bench: timed out waiting for " + what)


def main():
    lab = lab_mod.Lab(tempfile.mkdtemp(prefix="berth-bench-lab"), 3)
    try:
        lab.start()
        h1, h2, h3 = lab.hosts
        h1.docker("swarm", "init", "--advertise-addr", h1.addr, "--dispatcher-heartbeat", HEARTBEAT)
        token = h1.docker("swarm", "join-token", "-q", "worker").out.strip()
        for h in (h2, h3):
            h.docker("swarm", "join", "--token", token, "--advertise-addr", h.addr, h1.addr + ":2377")
        for h in lab.hosts:
            h.docker("load", "-i", FIXTURE)
        ids = {h.index: h.info()["NodeID"] for h in lab.hosts}
        h1.docker("service", "create", "-d", "--name", "svc", "--replicas", str(REPLICAS), "--stop-grace-period",
                  "1s", "busybox", "sleep", "100000")
        wait(lambda: sum(tasks_by_node(h1).values()) == REPLICAS, "the service running")

        # A stall shorter than the grace period moves nothing.
        before = tasks_by_node(h1)
        h3.cut()
        time.sleep(STALL)
        h3.heal()
        time.sleep(3 * float(HEARTBEAT.rstrip("s")))
        stalled_ok = tasks_by_node(h1) == before and node_state(h1, ids[3]) == "ready"
        print("stall of %.1f s (link cut): %s" % (STALL, "nothing moved" if stalled_ok else "TASKS MOVED"))

        times, downs = [], []
        for trial in range(TRIALS):
            per = tasks_by_node(h1)
            victim = max((h2, h3), key=lambda h: per.get(ids[h.index], 0))
            if not per.get(ids[victim.index]):
                raise SystemExit("bench: no worker runs tasks")
            killed = time.time()
            victim.kill9()
            down = None
            while True:
                if down is None and node_state(h1, ids[victim.index]) == "down":
                    down = time.time() - killed
                per = tasks_by_node(h1)
                if sum(per.values()) == REPLICAS and not per.get(ids[victim.index]):
                    break
                if time.time() - killed > 60:
                    raise SystemExit("bench: tasks not replaced 60 s after the kill")
                time.sleep(0.02)
            times.append(time.time() - killed)
            downs.append(down if down is not None else times[-1])
            victim.start()
            wait(lambda: node_state(h1, ids[victim.index]) == "ready", "the worker back")
            print("trial %2d: h%d killed, Down after %.2f s, all %d tasks running elsewhere after %.2f s" %
                  (trial + 1, victim.index, downs[-1], REPLICAS, times[-1]))

        ok = report(downs, times, stalled_ok)
    finally:
        lab.destroy()
    if os.environ.get("BENCH_STRICT") == "1" and not ok:
        sys.exit(1)


def spread(xs):
    return "min %.2f s, median %.2f s, max %.2f s" % (min(xs), statistics.median(xs), max(xs))


def report(downs, times, stalled_ok):
    """Prints the figures; whether the target was met."""
    ok = statistics.median(times) < 5.0 and stalled_ok
    for line in ("",
                 "heartbeat period %s (grace %g s)" % (HEARTBEAT, 3 * float(HEARTBEAT.rstrip("s"))),
                 "node Down after kill -9: " + spread(downs),
                 "tasks running elsewhere over %d trials: %s" % (len(times), spread(times)),
                 "target (median < 5 s, a short stall moves nothing): " + ("met" if ok else "MISSED")):
        print(line)
    return ok


if __name__ == "__main__":
    main()

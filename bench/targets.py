#!/usr/bin/python3
"""Every figure of the performance targets (issue 18), berthd beside
Debian's dockerd 20.10 in the same run when docker.io is installed.

Run from the repo root as root: /usr/bin/python3 bench/targets.py
Knobs: BERTHD (default build/berthd), BERTHD_BEFORE (another berthd, e.g.
main's, measured too in a column "before"), ENGINES ("berthd dockerd"), RUNS (30
CLI runs per figure), PHASE_RUNS (50 API runs), MANY (500 running
containers for the flatness figure), SECONDS (5 per request-rate figure),
BENCH_STRICT=1 (exit 1 when berthd misses a target).

Each daemon runs alone (the other is stopped first) in its own network
namespace, data root and socket (bench/engines.py).  Request rates come
from bench/loadgen.c (16 keep-alive connections on the unix socket, one
request in flight on each), which shares the CPUs with the daemon.
"""

import concurrent.futures
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engines import FIXTURE, REPO, Api, Engine  # noqa: E402

RUNS = int(os.environ.get("RUNS", "30"))
PHASE_RUNS = int(os.environ.get("PHASE_RUNS", "50"))
MANY = int(os.environ.get("MANY", "500"))
SECONDS = float(os.environ.get("SECONDS", "5"))
LOADGEN = os.path.join(REPO, "build", "bench", "loadgen")


def pct(values, p):
    v = sorted(values)
    return v[max(0, min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1)))))]


def build_loadgen():
    src = os.path.join(REPO, "bench", "loadgen.c")
    if not os.path.exists(LOADGEN) or os.path.getmtime(LOADGEN) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(LOADGEN), exist_ok=True)
        subprocess.run(["cc", "-O2", "-Wall", "-o", LOADGEN, src], check=True)


def rate(eng, path):
    """Requests/s of 200s over 16 connections; errors fail the bench."""
    out = subprocess.run([LOADGEN, eng.sock, path, "16", str(SECONDS)], capture_output=True, text=True, check=True)
    rps, ok, errs, _, _ = out.stdout.split()
    if int(errs):
        raise SystemExit("%s %s: %s non-200 replies" % (eng.kind, path, errs))
    return float(rps)


def cli_run(eng, *args):
    t = time.monotonic()
    eng.docker("run", "--rm", *args, "busybox", "true")
    return (time.monotonic() - t) * 1000


def api_phases(eng, n):
    """Medians (ms) of create, start, wait and delete of `true`, and of
    their sum per run, on one keep-alive connection."""
    a = Api(eng.sock)
    ph = {"create": [], "start": [], "wait": [], "delete": [], "total": []}
    spec = {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}}
    for i in range(n + 3):
        t0 = time.monotonic()
        cid = a.call("POST", "/containers/create", spec)["Id"]
        t1 = time.monotonic()
        a.call("POST", "/containers/%s/start" % cid)
        t2 = time.monotonic()
        a.call("POST", "/containers/%s/wait" % cid)
        t3 = time.monotonic()
        a.call("DELETE", "/containers/%s" % cid)
        t4 = time.monotonic()
        if i >= 3:  # warm-up
            for k, x, y in (("create", t0, t1), ("start", t1, t2), ("wait", t2, t3), ("delete", t3, t4),
                            ("total", t0, t4)):
                ph[k].append((y - x) * 1000)
    a.close()
    return {k: statistics.median(v) for k, v in ph.items()}


def add_sleepers(eng, n, start=True):
    a = Api(eng.sock)
    spec = {"Image": "busybox", "Cmd": ["sleep", "3600"], "HostConfig": {"NetworkMode": "none"}}
    for _ in range(n):
        cid = a.call("POST", "/containers/create", spec)["Id"]
        if start:
            a.call("POST", "/containers/%s/start" % cid)
    a.close()


def measure(eng, r):
    """Fills r as it goes: what was measured stays when a later step fails."""
    say = lambda what: print("bench: %s: %s" % (eng.kind, what), file=sys.stderr, flush=True)  # noqa: E731
    time.sleep(2)
    r["idle_wakeups"] = eng.wakeups_per_s()
    r["idle_rss"], r["idle_private"], r["idle_shared"] = eng.memory_mb()

    say("API phases")
    p = api_phases(eng, PHASE_RUNS)
    for k, v in p.items():
        r["api_" + k] = v

    say("docker run")
    for _ in range(3):
        cli_run(eng, "--network", "none")
    t = [cli_run(eng, "--network", "none") for _ in range(RUNS)]
    r["run_none_p50"], r["run_none_p95"] = statistics.median(t), pct(t, 95)
    r["run_bridge_p50"] = statistics.median([cli_run(eng) for _ in range(RUNS)])
    t = []
    for _ in range(20):
        t0 = time.monotonic()
        eng.docker("version")
        t.append((time.monotonic() - t0) * 1000)
    r["cli_version"] = statistics.median(t)

    r["ping_rps"] = rate(eng, "/_ping")

    say("100 x docker run -d")
    t0 = time.monotonic()
    for _ in range(100):
        eng.docker("run", "-d", "--network", "none", "busybox", "sleep", "3600")
    r["run_d_100_s"] = time.monotonic() - t0
    time.sleep(2)
    r["busy_wakeups"] = eng.wakeups_per_s()
    r["busy_rss"], r["busy_private"], r["busy_shared"] = eng.memory_mb()
    r["ps_100_rps"] = rate(eng, "/containers/json?all=1")

    def client(_):
        return [cli_run(eng, "--network", "none") for _ in range(20)]
    say("10 parallel clients")
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        lat = [x for chunk in pool.map(client, range(10)) for x in chunk]
    r["par_runs_per_s"] = len(lat) / (time.monotonic() - t0)
    r["par_p99"] = pct(lat, 99)

    say("images, networks, services")
    # 100 images: commits of one container with a label each
    a = Api(eng.sock)
    base = a.call("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]})["Id"]
    for i in range(100):
        a.call("POST", "/commit?container=%s&repo=bench%d&tag=latest" % (base, i), {"Labels": {"n": str(i)}})
    r["images_rps"] = rate(eng, "/images/json")
    for i in range(100):
        # explicit subnets: the default pools hold about 30 networks
        a.call("POST", "/networks/create", {"Name": "bench%d" % i, "Internal": True,
                                            "IPAM": {"Config": [{"Subnet": "10.99.%d.0/24" % i}]}})
    r["networks_rps"] = rate(eng, "/networks")
    a.call("POST", "/swarm/init", {"ListenAddr": "127.0.0.1:2377", "AdvertiseAddr": "127.0.0.1"})
    for i in range(100):
        a.call("POST", "/services/create",
               {"Name": "bench%d" % i, "Mode": {"Replicated": {"Replicas": 0}},
                "TaskTemplate": {"ContainerSpec": {"Image": "busybox", "Command": ["sleep", "3600"]}}})
    r["services_rps"] = rate(eng, "/services")
    a.call("POST", "/swarm/leave?force=1")
    a.close()
    say("%d running" % MANY)
    add_sleepers(eng, max(0, MANY - 100))
    r["many"] = MANY
    t = [cli_run(eng, "--network", "none") for _ in range(RUNS)]
    r["run_many_p50"] = statistics.median(t)
    add_sleepers(eng, max(0, 1000 - MANY), start=False)
    r["ps_1000_rps"] = rate(eng, "/containers/json?all=1")

    # Leave no container behind (dockerd's shims would outlive it).
    ids = eng.docker("ps", "-aq").stdout.split()
    for k in range(0, len(ids), 100):
        eng.docker("rm", "-f", *[i.decode() for i in ids[k:k + 100]], check=False)


ROWS = [
    # key, label, target (berthd), compare ("<=", ">=" or None), format
    ("run_none_p50", "docker run --rm --network none busybox true, median (ms)", 30, "<=", "%.1f"),
    ("run_none_p95", "  same, p95 (ms)", 40, "<=", "%.1f"),
    ("run_bridge_p50", "  same on the default bridge, median (ms)", None, None, "%.1f"),
    ("run_many_p50", "  same with MANY containers running, median (ms)", None, None, "%.1f"),
    ("cli_version", "  the CLI alone (docker version), median (ms)", None, None, "%.1f"),
    ("api_total", "API create+start+wait+delete of true, median (ms)", 8, "<=", "%.2f"),
    ("api_create", "  create (ms)", None, None, "%.2f"),
    ("api_start", "  start (ms)", None, None, "%.2f"),
    ("api_wait", "  wait (ms)", None, None, "%.2f"),
    ("api_delete", "  delete (ms)", None, None, "%.2f"),
    ("run_d_100_s", "100 x docker run -d busybox sleep, sequential (s)", 2, "<=", "%.2f"),
    ("par_runs_per_s", "10 clients x 20 docker run --rm: runs/s", None, None, "%.1f"),
    ("par_p99", "  p99 (ms)", None, None, "%.0f"),
    ("idle_wakeups", "idle, no containers: wakeups/s", 1, "<=", "%.1f"),
    ("busy_wakeups", "idle, 100 sleeping containers: wakeups/s", 1, "<=", "%.1f"),
    ("idle_rss", "RSS idle (MB)", 10, "<=", "%.1f"),
    ("idle_private", "  private (MB)", None, None, "%.1f"),
    ("idle_shared", "  shared (MB)", None, None, "%.1f"),
    ("busy_rss", "RSS with 100 containers (MB)", 25, "<=", "%.1f"),
    ("busy_private", "  private (MB)", None, None, "%.1f"),
    ("busy_shared", "  shared (MB)", None, None, "%.1f"),
    ("ping_rps", "GET /_ping, 16 connections (req/s)", "dockerd", ">=", "%.0f"),
    ("ps_100_rps", "GET /containers/json?all=1, 100 containers (req/s)", 2400, ">=", "%.0f"),
    ("ps_1000_rps", "  same, 1000 containers (req/s)", 300, ">=", "%.0f"),
    ("images_rps", "GET /images/json, 100 images (req/s)", 2400, ">=", "%.0f"),
    ("networks_rps", "GET /networks, 100 networks (req/s)", 2400, ">=", "%.0f"),
    ("services_rps", "GET /services, 100 services (req/s)", 2400, ">=", "%.0f"),
]


def main():
    if os.geteuid() != 0:
        raise SystemExit("bench: must run as root")
    if not os.path.exists(FIXTURE):
        subprocess.run(["/usr/bin/python3", os.path.join(REPO, "tests", "fixtures", "mkimages.py"),
                        os.path.dirname(FIXTURE)], check=True)
    build_loadgen()
    columns = []  # (column, engine kind, binary)
    for k in os.environ.get("ENGINES", "berthd dockerd").split():
        if k == "berthd" and os.environ.get("BERTHD_BEFORE"):
            columns.append(("before", "berthd", os.environ["BERTHD_BEFORE"]))
        if Engine.available(k):
            columns.append((k, k, None))
    results = {}
    for col, kind, binary in columns:
        eng = Engine(kind, binary)
        results[col] = {}
        try:
            eng.start()
            measure(eng, results[col])
        except (Exception, SystemExit) as x:
            print("bench: %s failed: %r" % (col, x), file=sys.stderr)
            if eng.log:
                eng.log.flush()
                subprocess.run(["tail", "-5", eng.log.name])
            results[col]["failed"] = True
        finally:
            eng.stop()
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print("%s, %d CPUs, load average %s (other work shares this machine)" %
          (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(), " ".join(load)))
    names = [c[0] for c in columns]
    print("%-58s %10s " % ("metric", "target") + " ".join("%10s" % n for n in names) + "  result")
    missed = False
    b = results.get("berthd", {})
    d = results.get("dockerd", {})
    for key, label, target, cmp, fmt in ROWS:
        label = label.replace("MANY", str(b.get("many", MANY)))
        t = d.get(key) if target == "dockerd" else target
        verdict = "-"
        if cmp and t is not None and key in b:
            ok = b[key] <= t if cmp == "<=" else b[key] >= t
            verdict = "ok" if ok else "MISSED"
            missed |= not ok
        ts = "-" if target is None else "%s %s" % (cmp, target)
        print("%-58s %10s " % (label, ts) +
              " ".join("%10s" % (fmt % results[n][key] if key in results[n] else "-") for n in names) +
              "  " + verdict)
    if missed and os.environ.get("BENCH_STRICT") == "1":
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Scale by simulation: many workers in one process against three real
managers in a network-namespace lab (tests/cluster).

Each simulated worker does what berthd's worker does on the swarm port
(node/swarm_worker.c), with a key, a certificate and sessions of its own:

  issue        TLS without a client certificate: the worker token, a CSR
               (ECDSA P-256) and a new node ID -> its worker certificate
  worker_join  with that certificate: its description -> recorded, Ready
  session      the long poll that is also the heartbeat, on a connection
               of its own, answered with the node's assignments when they
               change (else after a heartbeat period)
  report       its tasks' states as one batch: every task assigned to it
               "running" (no container is started), every task it is told
               to shut down "shutdown"

Every request is the node RPC framing ("BERTHRPC", then 4-byte big-endian
length + JSON per message) over TLS 1.3.  The workers live in a fourth lab
host (10.77.0.4) with no berthd: traffic goes only to the lab's addresses.

For each size in BENCH_SIZES (default 250,500,1000 workers): a fresh lab,
swarm init on h1 (heartbeat BENCH_HEARTBEAT, default 5s, Docker's), h2 and
h3 join as managers, then
  - join: every worker issued, joined and Ready in `GET /nodes`;
  - place: `POST /services/create` of BENCH_TASKS_PER_WORKER (10) x N
    replicas constrained to workers, until every task is reported running
    (the reports the managers acknowledged; checked once in GET /tasks);
  - idle: BENCH_IDLE (20) s of heartbeats with nothing changing: the
    leader's CPU over that window, and how many session answers carried
    assignments (should be none);
  - the leader's RSS and CPU seconds after each phase.

Run from the repo root as root: /usr/bin/python3 bench/simworkers.py
Knobs: BERTHD, BENCH_SIZES, BENCH_TASKS_PER_WORKER, BENCH_HEARTBEAT,
BENCH_IDLE, BENCH_JOIN_PARALLEL (64 joins in flight), BENCH_STRICT=1
(exit 1 when a target is missed: 1,000 workers Ready within 60 s, 10,000
tasks running within 30 s).
"""

import asyncio
import json
import os
import random
import resource
import ssl
import string
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("BERTHD", os.path.join(REPO, "build", "berthd"))
sys.path.insert(0, os.path.join(REPO, "tests", "cluster"))

SIZES = [int(x) for x in os.environ.get("BENCH_SIZES", "250,500,1000").split(",")]
PER_WORKER = int(os.environ.get("BENCH_TASKS_PER_WORKER", "10"))
HEARTBEAT = os.environ.get("BENCH_HEARTBEAT", "5s")
IDLE = float(os.environ.get("BENCH_IDLE", "20"))
JOIN_PARALLEL = int(os.environ.get("BENCH_JOIN_PARALLEL", "64"))
MAGIC = b"BERTHRPC"
PORT = 2377

# ---- the simulator (runs inside the fourth host's namespace) ---------------------


def node_id():
    return "".join(random.choice(string.digits + string.ascii_lowercase) for _ in range(25))


def bootstrap_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE   # a bench: the lab's managers are the only peers
    return ctx


async def call(reader, writer, msg, timeout):
    body = json.dumps(msg).encode()
    writer.write(struct.pack(">I", len(body)) + body)
    await writer.drain()
    head = await asyncio.wait_for(reader.readexactly(4), timeout)
    (n,) = struct.unpack(">I", head)
    return json.loads(await asyncio.wait_for(reader.readexactly(n), timeout))


async def connect(addr, ctx):
    reader, writer = await asyncio.wait_for(asyncio.open_connection(addr, PORT, ssl=ctx), 20)
    writer.write(MAGIC)
    return reader, writer


async def one_call(addr, ctx, msg, timeout=20):
    reader, writer = await connect(addr, ctx)
    try:
        return await call(reader, writer, msg, timeout)
    finally:
        writer.close()


class Stats:
    def __init__(self):
        self.joined = 0
        self.running = 0
        self.reports = 0
        self.report_errors = 0
        self.answers = 0
        self.answers_with_assignments = 0
        self.errors = []


class Worker:
    def __init__(self, idx, managers, token, tmp, stats):
        self.idx = idx
        self.id = node_id()
        self.addr = managers[idx % len(managers)]
        self.token = token
        self.tmp = tmp
        self.stats = stats
        self.version = ""
        self.running = set()     # task IDs reported running and acknowledged
        self.reported = {}       # task ID -> state asked for (not yet acknowledged or seen)
        self.ctx = None

    async def join(self):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        key = ec.generate_private_key(ec.SECP256R1())
        csr = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.id)])).sign(key, hashes.SHA256())
        resp = await one_call(self.addr, bootstrap_context(), {
            "op": "issue", "token": self.token, "node": self.id,
            "csr": csr.public_bytes(serialization.Encoding.PEM).decode()})
        if resp.get("status") or not resp.get("cert"):
            raise RuntimeError("issue: %s" % resp)
        certfile = os.path.join(self.tmp, self.id + ".crt")
        keyfile = os.path.join(self.tmp, self.id + ".key")
        with open(certfile, "w") as f:
            f.write(resp["cert"])
        with open(keyfile, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        self.ctx = bootstrap_context()
        self.ctx.load_cert_chain(certfile, keyfile)
        desc = {"Hostname": "sim%04d" % self.idx, "Platform": {"Architecture": "x86_64", "OS": "linux"},
                "Resources": {"NanoCPUs": 2000000000, "MemoryBytes": 2 << 30},
                "Engine": {"EngineVersion": "sim", "Plugins": []}}
        resp = await one_call(self.addr, self.ctx, {"op": "worker_join", "addr": "10.77.0.4", "description": desc})
        if resp.get("status"):
            raise RuntimeError("worker_join: %s" % resp)
        self.stats.joined += 1

    async def sessions(self, heartbeat_s):
        """The long poll, again and again, on one connection."""
        while True:
            try:
                reader, writer = await connect(self.addr, self.ctx)
                while True:
                    resp = await call(reader, writer, {"op": "session", "version": self.version}, heartbeat_s + 5)
                    if resp.get("status"):
                        raise RuntimeError("session: %s" % resp.get("error"))
                    self.stats.answers += 1
                    if "assignments" in resp:
                        self.stats.answers_with_assignments += 1
                        self.version = resp.get("version", "")
                        await self.assigned(resp["assignments"])
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, RuntimeError) as exc:
                self.stats.errors.append("%s: %s" % (self.id, exc))
                await asyncio.sleep(1)

    async def assigned(self, docs):
        batch = []
        for t in docs.get("task", []):
            if t.get("NodeID") != self.id:
                continue   # another node's task on a network of ours
            state = t.get("Status", {}).get("State", "")
            desired = t.get("DesiredState", "")
            # A report whose answer was lost (a leader change) may still
            # have been applied: the store's word is what counts.
            if state == "running" and desired == "running" and t["ID"] not in self.running:
                self.running.add(t["ID"])
                self.stats.running += 1
            want = None
            if desired == "running" and state in ("assigned", "accepted", "preparing", "starting"):
                want = "running"
            elif desired in ("shutdown", "remove") and state in ("assigned", "accepted", "preparing", "starting",
                                                                 "running"):
                want = "shutdown"
            if want and self.reported.get(t["ID"]) != want:
                now = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())
                t = dict(t)
                t["Status"] = {"Timestamp": now, "State": want, "Message": "started" if want == "running"
                               else "shutdown"}
                batch.append(t)
                self.reported[t["ID"]] = want
        if batch:
            asyncio.ensure_future(self.report(batch))

    async def report(self, batch):
        try:
            resp = await one_call(self.addr, self.ctx, {"op": "report", "tasks": batch})
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
            resp = {"status": -1, "error": str(exc)}
        self.stats.reports += 1
        if resp.get("status"):
            self.stats.report_errors += 1
            self.stats.errors.append("report: %s" % resp.get("error"))
            # As berthd's worker: the next session answer resends every
            # assignment, and the tasks are reported again from there.
            for t in batch:
                self.reported.pop(t["ID"], None)
            self.version = ""
            return
        for t in batch:
            if t["Status"]["State"] == "running" and t["ID"] not in self.running:
                self.running.add(t["ID"])
                self.stats.running += 1


async def simulate(n, managers, token, heartbeat_s, control):
    """Runs n workers; prints one JSON line per event to stdout and reads
    commands ("status") from stdin: the bench's driver is the parent."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    tmp = tempfile.mkdtemp(prefix="berth-sim-")
    stats = Stats()
    workers = [Worker(i, managers, token, tmp, stats) for i in range(n)]
    sem = asyncio.Semaphore(JOIN_PARALLEL)
    t0 = time.monotonic()

    async def join_one(w):
        async with sem:
            for attempt in range(5):
                try:
                    await w.join()
                    break
                except Exception as exc:  # noqa: BLE001 - reported, then retried with a new ID
                    stats.errors.append("join %d: %s" % (w.idx, exc))
                    w.id = node_id()
                    await asyncio.sleep(0.5 * (attempt + 1))
            asyncio.ensure_future(w.sessions(heartbeat_s))

    await asyncio.gather(*(join_one(w) for w in workers))
    print(json.dumps({"event": "joined", "n": stats.joined, "seconds": time.monotonic() - t0}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        print(json.dumps({"event": "status", "running": stats.running, "reports": stats.reports,
                          "report_errors": stats.report_errors, "answers": stats.answers,
                          "answers_with_assignments": stats.answers_with_assignments,
                          "errors": len(stats.errors), "last_error": stats.errors[-1] if stats.errors else ""}),
              flush=True)


# ---- the driver ----------------------------------------------------------------------


def proc_stats(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss / 1024.0, (int(fields[11]) + int(fields[12])) / ticks


def nodes_ready(h):
    status, _, data = h.request("GET", "/v1.47/nodes", timeout=30)
    return sum(1 for n in json.loads(data) if n["Status"]["State"] == "ready") if status == 200 else 0


def tasks_running(h):
    q = urllib.parse.quote(json.dumps({"service": ["sim"], "desired-state": ["running"]}))
    status, _, data = h.request("GET", "/v1.47/tasks?filters=" + q, timeout=60)
    return sum(1 for t in json.loads(data) if t["Status"]["State"] == "running") if status == 200 else 0


def leader_host(lab):
    for h in lab.hosts[:3]:
        if h.info().get("ControlAvailable") and h.leader() == "h%d" % h.index:
            return h
    return lab.hosts[0]


def run_size(n):
    import conftest as lab_mod
    lab = lab_mod.Lab(tempfile.mkdtemp(prefix="berth-bench-sim"), 4)
    sim = None
    try:
        for h in lab.hosts[:3]:
            h.start(wait=False)
        for h in lab.hosts[:3]:
            h.wait_ready()
        h1, h2, h3, h4 = lab.hosts
        h1.docker("swarm", "init", "--advertise-addr", h1.addr, "--dispatcher-heartbeat", HEARTBEAT)
        mtoken = h1.docker("swarm", "join-token", "-q", "manager").out.strip()
        wtoken = h1.docker("swarm", "join-token", "-q", "worker").out.strip()
        for h in (h2, h3):
            h.docker("swarm", "join", "--token", mtoken, "--advertise-addr", h.addr, h1.addr + ":2377")
        leader = leader_host(lab)
        pid = leader.proc.pid
        hb = float(HEARTBEAT.rstrip("s"))
        out = {"workers": n}
        rss0, cpu0 = proc_stats(pid)
        t0 = time.monotonic()
        sim = subprocess.Popen(["nsenter", "--net=/run/netns/" + h4.netns, sys.executable, os.path.abspath(__file__),
                                "--simulate", str(n), ",".join(h.addr for h in (h1, h2, h3)), wtoken, str(hb)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        joined = json.loads(sim.stdout.readline())
        while nodes_ready(leader) < n + 3:
            if time.monotonic() - t0 > 300:
                raise SystemExit("bench: the workers did not all become Ready")
            time.sleep(0.5)
        out["join_s"] = time.monotonic() - t0
        out["joined_by_sim_s"] = joined["seconds"]
        out["rss_after_join_mb"], cpu = proc_stats(pid)
        out["cpu_join_s"] = cpu - cpu0

        def status():
            sim.stdin.write("status\n")
            sim.stdin.flush()
            return json.loads(sim.stdout.readline())

        base = status()["running"]
        replicas = PER_WORKER * n
        spec = {"Name": "sim", "TaskTemplate": {"ContainerSpec": {"Image": "busybox"},
                                                "Placement": {"Constraints": ["node.role==worker"]}},
                "Mode": {"Replicated": {"Replicas": replicas}}}
        leader = leader_host(lab)   # elections under the join's load can move it
        pid = leader.proc.pid
        out["leader_after_join"] = leader.index
        _, cpu1 = proc_stats(pid)
        t1 = time.monotonic()
        code, _, data = leader.request("POST", "/v1.47/services/create", body=json.dumps(spec).encode(),
                                       headers={"Content-Type": "application/json"}, timeout=60)
        assert code == 201, data
        while True:
            st = status()
            if st["running"] - base >= replicas:
                break
            if time.monotonic() - t1 > 300:
                raise SystemExit("bench: only %d of %d tasks running: %s" % (st["running"] - base, replicas, st))
            time.sleep(0.2)
        out["place_s"] = time.monotonic() - t1
        out["running_in_store"] = tasks_running(leader)
        out["rss_after_place_mb"], cpu = proc_stats(pid)
        out["cpu_place_s"] = cpu - cpu1
        out["report_errors"] = st["report_errors"]
        # Idle: heartbeats only.
        time.sleep(2 * hb)
        leader = leader_host(lab)
        pid = leader.proc.pid
        out["leader_idle"] = leader.index
        before = status()
        _, cpu2 = proc_stats(pid)
        time.sleep(IDLE)
        after = status()
        _, cpu3 = proc_stats(pid)
        out["idle_cpu_pct"] = 100.0 * (cpu3 - cpu2) / IDLE
        out["idle_answers"] = after["answers"] - before["answers"]
        out["idle_answers_with_assignments"] = after["answers_with_assignments"] - before["answers_with_assignments"]
        out["rss_end_mb"], _ = proc_stats(pid)
        out["nodes_down_seen"] = sum(1 for h in lab.hosts[:3] for l in open(h.log_path, errors="replace")
                                     if "is down (heartbeat failure)" in l)
        out["sim_errors"] = after["errors"]
        out["last_error"] = after["last_error"]
        return out
    finally:
        if sim:
            sim.kill()
            sim.wait()
        # The managers' logs outlive the lab, for a look after a bad run.
        keep = os.environ.get("BENCH_LOGS", "/tmp/berth-sim-logs")
        os.makedirs(keep, exist_ok=True)
        for h in lab.hosts[:3]:
            try:
                subprocess.run(["cp", h.log_path, os.path.join(keep, "%d-h%d.log" % (n, h.index))], check=False)
            except AttributeError:
                pass
        lab.destroy()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--simulate":
        n, managers, token, hb = int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4], float(sys.argv[5])
        asyncio.run(simulate(n, managers, token, hb, sys.stdin))
        return
    results = []
    for n in SIZES:
        r = run_size(n)
        print(json.dumps(r), flush=True)
        results.append(r)
    print("\n| workers | join to Ready | tasks | placed and running | leader RSS (join / placed) | leader CPU "
          "(join / place) | idle leader CPU | idle answers with assignments |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print("| %d | %.1f s | %d | %.1f s | %.0f / %.0f MB | %.1f / %.1f s | %.1f %% | %d of %d |" % (
            r["workers"], r["join_s"], PER_WORKER * r["workers"], r["place_s"], r["rss_after_join_mb"],
            r["rss_after_place_mb"], r["cpu_join_s"], r["cpu_place_s"], r["idle_cpu_pct"],
            r["idle_answers_with_assignments"], r["idle_answers"]))
    big = [r for r in results if r["workers"] >= 1000]
    missed = [r for r in big if r["join_s"] > 60 or r["place_s"] > 30]
    if missed and os.environ.get("BENCH_STRICT") == "1":
        sys.exit(1)


if __name__ == "__main__":
    main()

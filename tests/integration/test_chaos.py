"""kill -9 of the daemon at random moments while a workload runs; after
each restart the state must be what the clients were told, and nothing may
run, stay mounted or stay in a cgroup that the state does not show.

BERTH_CHAOS_KILLS sets the number of kills (20 by default; the long pass
uses 100).  The seed is printed, and BERTH_CHAOS_SEED replays a run."""

import contextlib
import http.client
import json
import os
import random
import socket
import sqlite3
import subprocess
import threading
import time

from conftest import SANITIZED, UnixHTTPConnection

KILLS = int(os.environ.get("BERTH_CHAOS_KILLS", "20"))
SEED = int(os.environ.get("BERTH_CHAOS_SEED", str(int(time.time()))))
NET = {"NetworkMode": "none"}


class DaemonGone(Exception):
    """The call did not get an answer: its outcome is unknown."""


def call(d, method, path, body=None, timeout=30):
    conn = UnixHTTPConnection(d.sock, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw and raw[:1] in (b"{", b"[") else raw)
    except (OSError, http.client.HTTPException) as e:
        raise DaemonGone(str(e))
    finally:
        conn.close()


class Ledger:
    """What the clients were told.  An entry is "present", "absent", or
    "unknown" while a call on it had no answer; a restart settles unknown
    entries from what the daemon shows."""

    def __init__(self):
        self.lock = threading.Lock()
        self.kinds = {"container": {}, "volume": {}, "network": {}, "service": {}}
        self.ops = 0

    def set(self, kind, key, state):
        with self.lock:
            self.kinds[kind][key] = state
            self.ops += 1

    def items(self, kind):
        with self.lock:
            return list(self.kinds[kind].items())


class Workload(threading.Thread):
    """Random calls until told to stop; every answer goes to the ledger."""

    def __init__(self, d, ledger, rng):
        super().__init__(daemon=True)
        self.d, self.ledger, self.rng = d, ledger, rng
        self.stopping = threading.Event()
        self.n = 0

    def run(self):
        while not self.stopping.is_set():
            op = self.rng.choice([self.run_container, self.run_container, self.remove_container,
                                  self.volume, self.volume_write, self.network, self.connect, self.service])
            try:
                op()
            except DaemonGone:
                time.sleep(0.02)
            self.n += 1

    def pick(self, kind, state="present"):
        have = [k for k, v in self.ledger.items(kind) if v == state]
        return self.rng.choice(have) if have else None

    def run_container(self):
        name = "c%d" % self.rng.randrange(10 ** 9)
        self.ledger.set("container", name, "unknown")
        st, r = call(self.d, "POST", "/containers/create?name=" + name,
                     {"Image": "busybox", "Cmd": ["sleep", "300"], "HostConfig": NET})
        self.ledger.set("container", name, "present" if st == 201 else "absent")
        if st == 201:
            call(self.d, "POST", "/containers/%s/start" % name)

    def remove_container(self):
        name = self.pick("container")
        if name:
            self.ledger.set("container", name, "unknown")
            st, _ = call(self.d, "DELETE", "/containers/%s?force=1" % name)
            self.ledger.set("container", name, "absent" if st in (204, 404) else "present")

    def volume(self):
        name = self.pick("volume")
        if name and self.rng.random() < 0.4:
            self.ledger.set("volume", name, "unknown")
            st, _ = call(self.d, "DELETE", "/volumes/" + name)
            self.ledger.set("volume", name, "absent" if st in (204, 404) else "present")
            return
        name = "v%d" % self.rng.randrange(10 ** 9)
        self.ledger.set("volume", name, "unknown")
        st, _ = call(self.d, "POST", "/volumes/create", {"Name": name})
        self.ledger.set("volume", name, "present" if st == 201 else "absent")

    def volume_write(self):
        vol = self.pick("volume")
        if not vol:
            return
        name = "w%d" % self.rng.randrange(10 ** 9)
        self.ledger.set("container", name, "unknown")
        st, _ = call(self.d, "POST", "/containers/create?name=" + name,
                     {"Image": "busybox", "Cmd": ["sh", "-c", "echo %s > /d/%s" % (name, name)],
                      "HostConfig": dict(NET, Binds=["%s:/d" % vol])})
        self.ledger.set("container", name, "present" if st == 201 else "absent")
        if st == 201:
            call(self.d, "POST", "/containers/%s/start" % name)

    def network(self):
        name = self.pick("network")
        if name and self.rng.random() < 0.4:
            self.ledger.set("network", name, "unknown")
            st, _ = call(self.d, "DELETE", "/networks/" + name)
            # 403: a container still uses it
            self.ledger.set("network", name, "absent" if st in (204, 404) else "present")
            return
        name = "n%d" % self.rng.randrange(10 ** 9)
        self.ledger.set("network", name, "unknown")
        st, _ = call(self.d, "POST", "/networks/create", {"Name": name})
        self.ledger.set("network", name, "present" if st == 201 else "absent")

    def connect(self):
        net, c = self.pick("network"), self.pick("container")
        if net and c:
            call(self.d, "POST", "/networks/%s/connect" % net, {"Container": c})

    def service(self):
        name = self.pick("service")
        if name and self.rng.random() < 0.5:
            st, svc = call(self.d, "GET", "/services/" + name)
            if st == 200:
                spec = svc["Spec"]
                spec["Mode"]["Replicated"]["Replicas"] = self.rng.randrange(0, 3)
                call(self.d, "POST", "/services/%s/update?version=%d" % (name, svc["Version"]["Index"]), spec)
            return
        if len(self.ledger.items("service")) >= 3:
            return
        name = "s%d" % self.rng.randrange(10 ** 9)
        self.ledger.set("service", name, "unknown")
        st, _ = call(self.d, "POST", "/services/create", {
            "Name": name,
            "TaskTemplate": {"ContainerSpec": {"Image": "busybox", "Command": ["sleep", "300"],
                                               "StopGracePeriod": 100000000}},
            "Mode": {"Replicated": {"Replicas": 1}}})
        self.ledger.set("service", name, "present" if st == 201 else "absent")


def kill9(d):
    d.proc.kill()
    d.proc.wait()
    d.proc = None
    d.log.close()


def shown(d, kind):
    """Names the daemon shows, and for containers their inspect documents."""
    if kind == "container":
        st, lst = call(d, "GET", "/containers/json?all=1")
        return {c["Names"][0].lstrip("/"): c for c in lst}
    if kind == "volume":
        st, r = call(d, "GET", "/volumes")
        return {v["Name"]: v for v in r["Volumes"] or []}
    if kind == "network":
        st, r = call(d, "GET", "/networks")
        return {n["Name"]: n for n in r}
    st, r = call(d, "GET", "/services")
    return {s["Spec"]["Name"]: s for s in r}


def cgroup_pids(cid):
    """Processes in the container's cgroup, in any controller's hierarchy."""
    pids = set()
    for ctl in os.listdir("/sys/fs/cgroup"):
        procs = os.path.join("/sys/fs/cgroup", ctl, "berth", cid, "cgroup.procs")
        try:
            pids.update(int(p) for p in open(procs).read().split())
        except OSError:
            pass
    return pids


def berth_cgroups():
    ids = set()
    for ctl in os.listdir("/sys/fs/cgroup"):
        base = os.path.join("/sys/fs/cgroup", ctl, "berth")
        if os.path.isdir(base):
            ids.update(x for x in os.listdir(base) if len(x) == 64)
    return ids


def mounted_layers(d):
    prefix = os.path.join(d.data_root, "overlay2") + "/"
    out = set()
    with open("/proc/mounts") as f:
        for line in f:
            path = line.split()[1]
            if path.startswith(prefix) and path.endswith("/merged"):
                out.add(path[len(prefix):-len("/merged")])
    return out


def check_invariants(d, ledger, problems, round_no):
    def bad(msg):
        problems.append("after kill %d: %s" % (round_no, msg))

    # Both stores pass their integrity checks (the cluster store's raft log
    # was read back, or the daemon would not be up with its swarm).
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.data_root, "local.db"), uri=True)
    res = db.execute("PRAGMA integrity_check").fetchall()
    db.close()
    if res != [("ok",)]:
        bad("local.db integrity_check: %r" % res)
    st, info = call(d, "GET", "/info")
    if info["Swarm"]["LocalNodeState"] != "active":
        bad("swarm state %r after restart" % info["Swarm"]["LocalNodeState"])

    # Every answered call is reflected; unknown ones settle on what is shown.
    for kind in ("container", "volume", "network", "service"):
        now = shown(d, kind)
        for name, state in ledger.items(kind):
            if state == "present" and name not in now:
                bad("%s %s was created (the client was told so) but is gone" % (kind, name))
            elif state == "absent" and name in now:
                bad("%s %s was removed (the client was told so) but is shown" % (kind, name))
            elif state == "unknown":
                ledger.set(kind, name, "present" if name in now else "absent")

    # No image references a missing layer: the image runs.
    st, r = call(d, "POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"], "HostConfig": NET})
    if st != 201:
        bad("cannot create from busybox: %s %r" % (st, r))
    else:
        call(d, "DELETE", "/containers/%s?force=1" % r["Id"])

    # Nothing runs that is not shown running, nothing shown running is not.
    # The restarted daemon kills what it finds left over, and a killed
    # process takes a moment to leave its cgroup: a short grace.
    deadline = time.time() + (15 if SANITIZED else 5)
    while True:
        found = run_state_violations(d)
        if not found or time.time() > deadline:
            break
        time.sleep(0.1)
    for msg in found:
        bad(msg)


def run_state_violations(d):
    found = []
    conts = {}
    st, lst = call(d, "GET", "/containers/json?all=1")
    for c in lst:
        st, full = call(d, "GET", "/containers/%s/json" % c["Id"])
        if st == 200:
            conts[c["Id"]] = full
    for cid, full in conts.items():
        state = full["State"]
        pids = cgroup_pids(cid)
        if state["Running"]:
            if not state["Pid"] or not os.path.exists("/proc/%d" % state["Pid"]):
                found.append("container %s shown running with pid %s, which does not exist" % (cid[:12], state["Pid"]))
        elif pids:
            found.append("container %s shown %s but its cgroup holds %s" % (cid[:12], state["Status"], sorted(pids)))
    for cid in berth_cgroups():
        # other daemons' containers on this host are not ours to judge
        if cid not in conts and cgroup_pids(cid) and os.path.isdir(os.path.join(d.data_root, "containers", cid)):
            found.append("cgroup of a container not shown holds processes: %s" % cid[:12])
    for layer in mounted_layers(d):
        full = conts.get(layer)
        if not full or not full["State"]["Running"]:
            found.append("layer %s is mounted but its container is not running" % layer[:12])
    return found


def test_kill_9_at_random_moments(make_daemon, fixtures):
    rng = random.Random(SEED)
    print("chaos seed %d, %d kills" % (SEED, KILLS))
    d = make_daemon()
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    ledger = Ledger()
    problems = []
    restarts = []
    for round_no in range(1, KILLS + 1):
        w = Workload(d, ledger, random.Random(rng.random()))
        w.start()
        time.sleep(rng.uniform(0.05, 0.6) * (3 if SANITIZED else 1))
        kill9(d)
        w.stopping.set()
        w.join(60)
        t0 = time.time()
        d.start()
        restarts.append(time.time() - t0)
        check_invariants(d, ledger, problems, round_no)
        assert not problems, "\n".join(problems)
    # Services converge on what their specs ask.
    deadline = time.time() + (90 if SANITIZED else 30)
    while True:
        lagging = []
        for name, svc in shown(d, "service").items():
            want = svc["Spec"]["Mode"]["Replicated"]["Replicas"]
            st, tasks = call(d, "GET", '/tasks?filters={"service":["%s"],"desired-state":["running"]}' % name)
            running = [t for t in tasks if t["Status"]["State"] == "running"]
            if len(running) != want:
                st, every = call(d, "GET", '/tasks?filters={"service":["%s"]}' % name)
                lagging.append("%s: %d of %d running; tasks: %s" % (name, len(running), want, [
                    (t.get("Slot"), t["DesiredState"], t["Status"]["State"], t["Status"].get("Err", ""))
                    for t in every]))
        if not lagging:
            break
        assert time.time() < deadline, "services did not converge: %s" % lagging
        time.sleep(0.2)
    # Everything removed, nothing is left behind.
    for name, svc in shown(d, "service").items():
        call(d, "DELETE", "/services/" + name)
    deadline = time.time() + 30
    while shown(d, "container") and time.time() < deadline:
        for c in shown(d, "container").values():
            call(d, "DELETE", "/containers/%s?force=1" % c["Id"])
        time.sleep(0.2)
    assert shown(d, "container") == {}
    for name in shown(d, "network"):
        if name not in ("bridge", "host", "none"):
            st, _ = call(d, "DELETE", "/networks/" + name)
            assert st == 204, name
    assert mounted_layers(d) == set()
    links = d.netns_run("ip", "-o", "link", "show", "type", "veth").out.strip()
    assert links == "", links
    print("chaos: %d kills, %d calls answered, restart median %.0f ms, max %.0f ms" % (
        KILLS, ledger.ops, sorted(restarts)[len(restarts) // 2] * 1000, max(restarts) * 1000))


@contextlib.contextmanager
def small_data_root(make_daemon):
    """A daemon (not started) whose data root is a 64 MB tmpfs, stopped,
    swept and unmounted at the end however the test ends."""
    d = make_daemon(start=False)
    os.makedirs(d.data_root)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", d.data_root], check=True)
    try:
        yield d
    finally:
        if d.proc:
            d.proc.kill()
            d.proc.wait()
            d.proc = None
        d.sweep()
        subprocess.run(["umount", "-l", d.data_root])


def test_full_disk(make_daemon, fixtures):
    """A data root that fills up: calls fail with a clear error, nothing
    already stored is lost, and the daemon works again once space returns."""
    with small_data_root(make_daemon) as d:
        d.start()
        d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
        d.docker("volume", "create", "keep")
        kept = d.docker("run", "--name", "kept", "--network", "none", "-v", "keep:/d", "busybox",
                        "sh", "-c", "echo safe > /d/f").out
        filler = os.path.join(d.data_root, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * (1 << 20))
                    f.flush()
            except OSError:
                pass
        # Every call fails cleanly or succeeds; none crashes the daemon.
        res = d.docker("load", "-i", os.path.join(fixtures, "busybox-multi.tar"), check=False)
        assert res.returncode != 0 and "no space left on device" in res.err.lower(), (res.out, res.err)
        res = d.docker("run", "--network", "none", "busybox", "sh", "-c", "head -c 1000000 /dev/zero > /big",
                       check=False)
        assert res.returncode != 0, res.out
        for args in (["volume", "create", "more"], ["create", "--network", "none", "busybox", "true"],
                     ["network", "create", "full"],
                     ["service", "create", "-d", "--name", "full", "busybox", "sleep", "300"]):
            res = d.docker(*args, check=False)
            err = res.err.lower()
            assert res.returncode == 0 or "no space left on device" in err or "disk is full" in err, (args, res.err)
        assert d.request("GET", "/_ping")[0] == 200
        # What was stored before is all there.
        assert d.docker("volume", "inspect", "keep", "--format", "{{.Name}}").out.strip() == "keep"
        assert d.docker("inspect", "kept", "--format", "{{.State.ExitCode}}").out.strip() == "0"
        assert "busybox:latest" in d.docker("images", "--format", "{{.Repository}}:{{.Tag}}").out
        os.unlink(filler)
        # Space is back: everything works again, and the volume kept its file.
        d.docker("load", "-i", os.path.join(fixtures, "busybox-multi.tar"))
        out = d.docker("run", "--rm", "--network", "none", "-v", "keep:/d", "busybox", "cat", "/d/f").out
        assert out.strip() == "safe"
        # and the cluster store takes writes again
        d.docker("service", "create", "-d", "--name", "after", "--replicas", "0", "busybox", "true")
        d.docker("service", "rm", "after")
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.data_root, "local.db"), uri=True)
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        db.close()
        assert d.stop() == 0
        d.start()
        assert d.docker("inspect", "kept", "--format", "{{.State.ExitCode}}").out.strip() == "0"
        d.docker("rm", "-f", "kept")
        assert d.stop() == 0


def test_build_on_a_full_disk(make_daemon, fixtures, tmp_path):
    """docker build on a data root that fills up: a RUN that fills the disk
    and a context the disk cannot hold fail with a clear error and leave no
    container, mount, build directory or half image behind; once space
    returns the same build works."""
    with small_data_root(make_daemon) as d:
        d.start()
        d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
        images = set(d.docker("images", "-aq").out.split())
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text("FROM busybox\nRUN head -c 200000000 /dev/zero > /big\n")
        res = d.docker("build", "--force-rm", str(ctx), check=False, timeout=120)
        assert res.returncode != 0
        assert "returned a non-zero code" in res.err, (res.out, res.err)
        assert d.docker("ps", "-aq").out.split() == []
        assert mounted_layers(d) == set()
        assert set(d.docker("images", "-aq").out.split()) == images
        assert not [n for n in os.listdir(os.path.join(d.data_root, "tmp")) if n.startswith("build-")]
        # a context larger than what is left
        filler = os.path.join(d.data_root, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (40 << 20))
        (ctx / "Dockerfile").write_text("FROM busybox\nCOPY big /big\n")
        with open(ctx / "big", "wb") as f:
            f.write(os.urandom(30 << 20))
        res = d.docker("build", str(ctx), check=False, timeout=120)
        assert res.returncode != 0 and "no space left on device" in res.err.lower(), (res.out, res.err)
        assert set(d.docker("images", "-aq").out.split()) == images
        assert not [n for n in os.listdir(os.path.join(d.data_root, "tmp")) if not n.startswith(".")], \
            os.listdir(os.path.join(d.data_root, "tmp"))
        assert d.request("GET", "/_ping")[0] == 200
        # space back: the build works
        os.unlink(filler)
        os.unlink(ctx / "big")
        (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo fine > /f\n")
        assert "Successfully built" in d.docker("build", str(ctx), timeout=120).out
        assert d.stop() == 0

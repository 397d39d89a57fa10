"""Cluster lab: N hosts, each a network namespace with one berthd, joined by
veth pairs to a bridge that lives in a lab namespace of its own.

    lab ns:   bridge "br0" (no address)  <- veth "hN" ... veth "eth0" in host N
    host N:   eth0 10.77.0.N/24, lo

Nothing touches the host's network: the bridge and every address live in
namespaces made (and removed) here, so traffic flows only between the lab's
10.77.0.x addresses.  Each host reuses the integration harness's Daemon (its
own data root, exec root, socket, pidfile, log)."""

import importlib.util
import itertools
import json
import os
import subprocess
import time

import pytest

# The integration harness's Daemon, loaded under a name of its own (both
# files are called conftest.py).
_spec = importlib.util.spec_from_file_location(
    "berth_integration_harness",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration", "conftest.py"))
_harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_harness)
Daemon = _harness.Daemon
SANITIZED = _harness.SANITIZED
fixtures = _harness.fixtures  # the busybox images, shared with the integration tests

SUBNET = "10.77.0"
_labs = itertools.count()


def sh(*cmd):
    subprocess.run(list(cmd), check=True, capture_output=True)


class Host(Daemon):
    """One lab host: its namespace, its address, its berthd."""

    def __init__(self, lab, index, base):
        super().__init__(base, name="%s-h%d" % (lab.name, index))
        self.lab = lab
        self.index = index
        self.addr = "%s.%d" % (SUBNET, index)

    def command(self):
        # A UTS namespace of its own so each host has its own hostname (hN),
        # which `docker node ls` shows; unshare and sh exec in place, so the
        # process is berthd itself.
        return ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', "h%d" % self.index] + super().command()

    def plug(self):
        ns = self.netns
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        peer = "h%d" % self.index
        sh("ip", "-n", self.lab.name, "link", "add", peer, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "-n", self.lab.name, "link", "set", peer, "master", "br0", "up")
        sh("ip", "-n", ns, "addr", "add", self.addr + "/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")

    def cut(self):
        """Unplugs the host from the bridge (a partition of this host)."""
        sh("ip", "-n", self.lab.name, "link", "set", "h%d" % self.index, "down")

    def heal(self):
        sh("ip", "-n", self.lab.name, "link", "set", "h%d" % self.index, "up")

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.log.close()

    def info(self):
        return json.loads(self.docker("info", "--format", "{{json .Swarm}}").out)

    def nodes(self):
        """docker node ls as a list of dicts (ID, Hostname, ManagerStatus, ...)."""
        out = self.docker("node", "ls", "--format", "{{json .}}").out
        return [json.loads(l) for l in out.splitlines() if l.strip()]

    def leader(self):
        """Hostname of the node this host's `docker node ls` calls Leader, or None."""
        res = self.docker("node", "ls", "--format", "{{json .}}", check=False, timeout=10)
        if res.returncode != 0:
            return None
        for l in res.out.splitlines():
            n = json.loads(l)
            if n.get("ManagerStatus") == "Leader":
                return n.get("Hostname")
        return None


class Lab:
    def __init__(self, tmp, n):
        self.name = "berth-lab%d-%d" % (os.getpid(), next(_labs))
        self.tmp = tmp
        sh("ip", "netns", "add", self.name)
        sh("ip", "-n", self.name, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.name, "link", "set", "br0", "up")
        self.hosts = []
        for i in range(1, n + 1):
            self.add_host()

    def add_host(self):
        i = len(self.hosts) + 1
        h = Host(self, i, os.path.join(self.tmp, "h%d" % i))
        h.plug()
        self.hosts.append(h)
        return h

    def start(self):
        for h in self.hosts:
            h.start(wait=False)
        for h in self.hosts:
            h.wait_ready()
        return self

    def destroy(self):
        for h in self.hosts:
            try:
                h.destroy()
            except Exception as exc:  # keep tearing down the others
                print("teardown of %s: %s" % (h.netns, exc))
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)


def wait_for(cond, timeout=None, step=0.05, what="condition"):
    timeout = timeout or (60 if SANITIZED else 20)
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = cond()
            if last:
                return last
        except AssertionError as exc:
            last = exc
        time.sleep(step)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def running_per_node(h, svc, want):
    """{hostname: running tasks} of svc as h's `service ps` shows it, once
    want tasks run (else None, for wait_for)."""
    out = h.docker("service", "ps", svc, "--filter", "desired-state=running",
                   "--format", "{{.Node}} {{.CurrentState}}").out
    per = {}
    for line in out.splitlines():
        node, state = line.split(" ", 1)
        if state.startswith("Running"):
            per[node] = per.get(node, 0) + 1
    return per if sum(per.values()) == want else None


@pytest.fixture
def make_lab(tmp_path_factory):
    labs = []

    def make(n=3, start=True):
        lab = Lab(str(tmp_path_factory.mktemp("lab")), n)
        labs.append(lab)
        if start:
            lab.start()
        return lab

    yield make
    for lab in labs:
        lab.destroy()

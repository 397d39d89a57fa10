#!/usr/bin/python3
"""Registry benchmark (issue 13): push and pull of a generated image (5
layers of 20 MB each, half random and half zeros, on top of busybox)
between a daemon and Debian's docker-registry, berthd against dockerd 20.10
(Debian's docker.io) in the same run.  Each daemon runs in its own network
namespace with its own data root; the registry runs in a third, on a lab
bridge both reach (10.78.0.1:5000, marked insecure on both).

Run from the repo root as root: /usr/bin/python3 bench/registry.py
Knobs: BERTHD (default build/berthd), LAYER_MB (20), RUNS (3; the best run
counts), BENCH_STRICT=1 (exit 1 when a target is missed).  Without dockerd
only berthd's figures are printed.
"""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from containers import Bench, FIXTURE, prepare, report  # noqa: E402
import dockerd  # noqa: E402

LAYER_MB = int(os.environ.get("LAYER_MB", "20"))
RUNS = int(os.environ.get("RUNS", "3"))
REGISTRY = "/usr/bin/docker-registry"
SUBNET = "10.78.0"
ADDR = SUBNET + ".1:5000"
IMAGE = ADDR + "/bench:1"
INSECURE = {"insecure-registries": [SUBNET + ".0/24"]}


def sh(*cmd):
    subprocess.run(cmd, check=True)


class Lab:
    """A namespace with a bridge (the registry's address on it) and one
    veth per daemon namespace plugged in."""

    def __init__(self):
        self.ns = "berth-benchr-%d" % os.getpid()
        sh("ip", "netns", "add", self.ns)
        sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.ns, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.ns, "addr", "add", SUBNET + ".1/24", "dev", "br0")
        sh("ip", "-n", self.ns, "link", "set", "br0", "up")
        self.n = 1

    def plug(self, ns):
        self.n += 1
        peer = "v%d" % self.n
        sh("ip", "-n", self.ns, "link", "add", peer, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "-n", self.ns, "link", "set", peer, "master", "br0", "up")
        sh("ip", "-n", ns, "addr", "add", "%s.%d/24" % (SUBNET, self.n), "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")

    def destroy(self):
        subprocess.run(["ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL)


def start_registry(lab, tmp):
    root = os.path.join(tmp, "registry")
    os.makedirs(root)
    cfg = os.path.join(tmp, "registry.yml")
    with open(cfg, "w") as f:
        f.write("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"
                "http:\n  addr: %s\n  secret: bench\n" % (root, ADDR))
    proc = subprocess.Popen(["nsenter", "--net=/run/netns/" + lab.ns, REGISTRY, "serve", cfg],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        r = subprocess.run(["nsenter", "--net=/run/netns/" + lab.ns, "curl", "-s", "-o", "/dev/null", "-w",
                            "%{http_code}", "http://%s/v2/" % ADDR], capture_output=True, text=True)
        if r.stdout == "200":
            return proc, root
        time.sleep(0.05)
    raise SystemExit("docker-registry did not start")


def build_image(b):
    """busybox + 5 committed layers: LAYER_MB/2 random, LAYER_MB/2 zeros."""
    base = "busybox:latest"
    half = LAYER_MB // 2
    for i in range(5):
        cid = b.docker("create", "--network", "none", base, "sh", "-c",
                       "dd if=/dev/urandom of=/r%d bs=1M count=%d 2>/dev/null && "
                       "dd if=/dev/zero of=/z%d bs=1M count=%d 2>/dev/null" % (i, half, i, half)).stdout.decode().strip()
        b.docker("start", "-a", cid)
        base = "bench/step:%d" % i
        b.docker("commit", cid, base)
        b.docker("rm", cid)
    b.docker("tag", base, IMAGE)
    for i in range(5):
        b.docker("rmi", "bench/step:%d" % i)


def timed(b, *args):
    t = time.monotonic()
    r = subprocess.run(["docker"] + list(args), env=b.env, capture_output=True)
    if r.returncode != 0:
        raise SystemExit("docker %s failed: %s %s" % (" ".join(args), r.stdout.decode()[-2000:], r.stderr.decode()))
    return time.monotonic() - t


def forget(b):
    """Nothing of the image left on the daemon (busybox shares its base layer)."""
    b.docker("rmi", IMAGE)
    b.docker("rmi", "busybox:latest")
    b.docker("image", "prune", "-af")


def main():
    prepare()
    if not os.path.exists(REGISTRY):
        raise SystemExit("bench: docker-registry is not installed (make deps)")
    with_dockerd = dockerd.available()
    lab = Lab()
    b = Bench()
    d = dockerd.Dockerd() if with_dockerd else None
    reg = None
    try:
        b.start(INSECURE)
        lab.plug(b.ns)
        if d:
            d.start(INSECURE)
            lab.plug(d.ns)
        reg, root = start_registry(lab, b.tmp)
        b.docker("load", "-i", FIXTURE)
        build_image(b)
        saved = os.path.join(b.tmp, "bench.tar")
        if d:
            b.docker("save", "-o", saved, IMAGE, "busybox:latest")
        times = {"berthd push": [], "berthd pull": [], "dockerd push": [], "dockerd pull": []}
        engines = [("berthd", b)] + ([("dockerd", d)] if d else [])
        for _ in range(RUNS):
            for name, e in engines:
                if name == "dockerd" and not times["dockerd push"]:
                    e.docker("load", "-i", saved)
                shutil.rmtree(os.path.join(root, "docker"), ignore_errors=True)
                times[name + " push"].append(timed(e, "push", IMAGE))
            # both pull what the last push stored
            for name, e in engines:
                forget(e)
                times[name + " pull"].append(timed(e, "pull", IMAGE))
                e.docker("tag", IMAGE, "busybox:latest")
        mb = 5 * LAYER_MB
        results = []
        for op, target in (("push", 0.8), ("pull", 0.6)):
            bt = min(times["berthd " + op])
            results.append(("berthd %s, %d MB in 5 layers (s, best of %d)" % (op, mb, RUNS), bt, "-", None))
            if d:
                dt = min(times["dockerd " + op])
                results.append(("dockerd 20.10 %s, same (s)" % op, dt, "-", None))
                results.append(("  berthd / dockerd", bt / dt, "<= %.2f" % target, bt / dt <= target))
        missed = report(results, "%10.2f")
        if not d:
            print("dockerd is not installed: no comparison (targets: pull <= 60%, push <= 80% of dockerd's time)")
        return 1 if missed and os.environ.get("BENCH_STRICT") == "1" else 0
    finally:
        if reg:
            reg.terminate()
            reg.wait(10)
        if d:
            d.stop()
        b.stop()
        lab.destroy()


if __name__ == "__main__":
    sys.exit(main())

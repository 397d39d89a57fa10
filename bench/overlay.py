#!/usr/bin/python3
"""Overlay benchmarks (issue 12), on two lab hosts (network namespaces on a
bridge, as tests/cluster's lab) each running berthd as a manager:

- (not yet: TCP throughput over the overlay against the plain addresses;
  busybox nc as the tests' tool gave figures that could not be checked)
- connections per second through a service VIP (nftables DNAT in the
  client's namespace) against the same through a task's own address:
  sequential wget from a container;
- time from `docker service scale` to the new task answering through the
  VIP (the address of the new task in its answers).

Run from the repo root as root: /usr/bin/python3 bench/overlay.py
Knobs: BERTHD (default build/berthd), CONNS (200).
"""

import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "cluster"))
os.environ.setdefault("BERTHD", os.path.join(REPO, "build", "berthd"))
import conftest  # noqa: E402
from test_managers import form  # noqa: E402

CONNS = int(os.environ.get("CONNS", "200"))
HTTPD = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"
FIXTURE = os.path.join(REPO, "build", "fixtures", "busybox.tar")


def conns(h, cid, addr):
    t0 = time.time()
    h.docker("exec", cid, "sh", "-c", "i=0; while [ $i -lt %d ]; do wget -qO- http://%s/ >/dev/null || exit 1; "
             "i=$((i+1)); done" % (CONNS, addr), timeout=300)
    return CONNS / (time.time() - t0)


def current(h, svc):
    """The running container of svc on h (a task may be replaced at any time)."""
    while True:
        out = h.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=%s" % svc).out.split()
        if out:
            return out[0]
        time.sleep(0.2)


def get(h, svc, url):
    for _ in range(100):
        res = h.docker("exec", current(h, svc), "timeout", "2", "wget", "-qO-", url, check=False)
        if res.returncode == 0:
            return res.out.strip()
        time.sleep(0.2)
    raise SystemExit("bench: %s does not answer" % url)


def main():
    if not os.path.exists(FIXTURE):
        subprocess.run(["make", "-s", "fixtures"], cwd=REPO, check=True)
    tmp = tempfile.mkdtemp(prefix="overlay-bench-")
    lab = conftest.Lab(tmp, 2)
    try:
        lab.start()
        form(lab)
        h1, h2 = lab.hosts
        for h in lab.hosts:
            h.docker("load", "-i", FIXTURE)
        h1.docker("network", "create", "-d", "overlay", "--attachable", "bench")
        # A client task on each host (a global service).
        h1.docker("service", "create", "-d", "--name", "tput", "--mode", "global", "--network", "bench",
                  "busybox", "sleep", "100000")
        # VIP connections per second vs a task's own address.
        h1.docker("service", "create", "-d", "--name", "web", "--replicas", "1", "--network", "bench",
                  "busybox", "sh", "-c", HTTPD)
        vip = None
        while not vip:
            out = h1.docker("service", "inspect", "--format", "{{json .Endpoint.VirtualIPs}}", "web").out
            m = re.search(r'"Addr":"([0-9.]+)/', out)
            vip = m.group(1) if m else None
        deadline = time.time() + 60
        task_ip = None
        while not task_ip and time.time() < deadline:
            for h in lab.hosts:
                out = h.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=web").out.split()
                if out:
                    m = re.search(r'"IPAddress":"([0-9.]+)"',
                                  h.docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", out[0]).out)
                    task_ip = m.group(1) if m else None
            time.sleep(0.2)
        get(h1, "tput", "http://%s/" % vip)
        direct = conns(h1, current(h1, "tput"), task_ip)
        through = conns(h1, current(h1, "tput"), vip)
        print("connections/s: through the VIP %.0f, to the task's address %.0f" % (through, direct))

        # Scale to answer: the new task's hostname through the VIP.
        first = get(h1, "tput", "http://%s/" % vip)
        t0 = time.time()
        h1.docker("service", "scale", "-d", "web=2")
        seen = None
        while time.time() - t0 < 60:
            out = h1.docker("exec", current(h1, "tput"), "timeout", "2", "wget", "-qO-", "http://%s/" % vip,
                            check=False).out.strip()
            if out and out != first:
                seen = time.time() - t0
                break
        print("scale to answer through the VIP: %.2f s" % seen if seen else "scale to answer: no answer in 60 s")
    finally:
        lab.destroy()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()

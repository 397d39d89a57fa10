#!/usr/bin/python3
"""Overlay benchmarks (issue 12), on two lab hosts (network namespaces on a
bridge, as tests/cluster's lab) each running berthd as a manager:

- TCP throughput between task containers on the two hosts over the
  overlay against the same between the hosts' plain lab addresses
  (bench/tcpblast.c, built static and bind-mounted into the tasks; the
  receiver counts the bytes that arrived);
- connections per second through a service VIP (nftables DNAT in the
  client's namespace) against the same through a task's own address:
  sequential wget from a container;
- time from `docker service scale` to the new task answering through the
  VIP (the address of the new task in its answers).

Run from the repo root as root: /usr/bin/python3 bench/overlay.py
Knobs: BERTHD (default build/berthd), CONNS (200), MIB (512 per
throughput round), ROUNDS (5).
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
MIB = int(os.environ.get("MIB", "512"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
PORT = "5001"
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


def in_container(h, cid):
    """The command prefix (and environment) that runs in cid on h."""
    env = dict(os.environ, DOCKER_HOST="unix://" + h.sock, DOCKER_CONFIG=h.docker_config)
    return ["docker", "exec", cid], env


def in_host(h):
    return ["nsenter", "--net=/run/netns/" + h.netns], None


def blast(server, client, tool, addr):
    """Gbit/s from client to server at addr, as the receiver counted."""
    (sp, senv), (cp, cenv) = server, client
    srv = subprocess.Popen(sp + [tool, "serve", PORT], stdout=subprocess.PIPE, text=True, env=senv)
    try:
        if srv.stdout.readline().strip() != "listening":
            raise SystemExit("bench: tcpblast did not listen")
        subprocess.run(cp + [tool, "send", addr, PORT, str(MIB)], check=True, env=cenv, timeout=300)
        got, secs = srv.communicate(timeout=300)[0].split()
    finally:
        if srv.poll() is None:
            srv.kill()
    if int(got) != MIB << 20:
        raise SystemExit("bench: %s bytes arrived of %d" % (got, MIB << 20))
    return int(got) * 8 / float(secs) / 1e9


def task_addr(h, cid):
    m = re.search(r'"IPAddress":"([0-9.]+)"', h.docker("inspect", "--format", "{{json .NetworkSettings.Networks}}",
                                                        cid).out)
    return m.group(1)


def throughput(lab, tool):
    h1, h2 = lab.hosts
    c1, c2 = current(h1, "tput"), current(h2, "tput")
    over, plain = [], []
    for _ in range(ROUNDS):
        over.append(blast(in_container(h2, c2), in_container(h1, c1), "/bench/tcpblast", task_addr(h2, c2)))
        plain.append(blast(in_host(h2), in_host(h1), tool, h2.addr))
    over.sort()
    plain.sort()
    mo, mp = over[len(over) // 2], plain[len(plain) // 2]
    print("throughput, %d MiB x %d: overlay median %.2f Gbit/s (%.2f-%.2f), plain median %.2f Gbit/s (%.2f-%.2f), "
          "ratio %.0f%%" % (MIB, ROUNDS, mo, over[0], over[-1], mp, plain[0], plain[-1], 100 * mo / mp))


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
        tooldir = os.path.join(tmp, "tool")
        os.makedirs(tooldir)
        tool = os.path.join(tooldir, "tcpblast")
        subprocess.run(["gcc", "-std=gnu11", "-O2", "-static", "-o", tool, os.path.join(REPO, "bench", "tcpblast.c")],
                       check=True)
        # A task on each host (a global service), the throughput tool in it.
        h1.docker("service", "create", "-d", "--name", "tput", "--mode", "global", "--network", "bench",
                  "--mount", "type=bind,src=%s,dst=/bench,readonly" % tooldir, "busybox", "sleep", "100000")
        current(h2, "tput")
        throughput(lab, tool)
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

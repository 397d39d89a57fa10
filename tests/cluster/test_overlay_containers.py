"""Plain containers on attachable overlays (node/attachments.c): `docker
run --network` and `docker network connect` on a leader, a follower and a
worker get their addresses from the swarm's allocator, reach each other by
name across hosts, reach a service's VIP, and give their address back when
they are removed or disconnected."""

import json

from conftest import wait_for
from test_overlay import HTTPD, fetch, ip_on, load, resolve
from test_workers import form


def inspect_endpoint(h, cid, net):
    out = h.docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", cid).out
    return json.loads(out)[net]


def test_containers_on_an_attachable_overlay_across_hosts(make_lab, fixtures):
    lab = make_lab(3)
    h1, h2, h3 = lab.hosts          # leader, follower manager, worker
    form(lab, managers=2)
    load(lab, fixtures)
    h1.docker("network", "create", "-d", "overlay", "--attachable", "--subnet", "10.30.0.0/24", "app")
    h1.docker("network", "create", "-d", "overlay", "closed")

    # On the leader, a follower and a worker (which has not heard of "app").
    c1 = h1.docker("run", "-d", "--name", "c1", "--network", "app", "busybox", "sh", "-c", HTTPD).out.strip()
    c2 = h3.docker("run", "-d", "--name", "c2", "--network", "app", "busybox", "sh", "-c", HTTPD).out.strip()
    c3 = h2.docker("run", "-d", "--name", "c3", "busybox", "sleep", "1000").out.strip()
    h2.docker("network", "connect", "--alias", "third", "app", "c3")

    addrs = {name: ip_on(h, cid, "app") for name, h, cid in (("c1", h1, c1), ("c2", h3, c2), ("c3", h2, c3))}
    assert len(set(addrs.values())) == 3, addrs
    assert all(a.startswith("10.30.0.") for a in addrs.values()), addrs
    ep = inspect_endpoint(h3, c2, "app")
    assert ep["IPAMConfig"]["IPv4Address"] == addrs["c2"], ep
    assert ep["NetworkID"] == inspect_endpoint(h1, c1, "app")["NetworkID"]

    # Across hosts, by name, both ways; the worker's container is named
    # on the others as theirs are on it.
    assert wait_for(lambda: resolve(h1, c1, "c2") == [addrs["c2"]], timeout=10, what="c2 from c1")
    assert fetch(h1, c1, "c2") == c2[:12]
    assert wait_for(lambda: resolve(h3, c2, "c1") == [addrs["c1"]], timeout=10, what="c1 from c2")
    assert fetch(h3, c2, "c1") == c1[:12]
    assert wait_for(lambda: resolve(h2, c3, "c1") == [addrs["c1"]] and resolve(h2, c3, "c2") == [addrs["c2"]],
                    timeout=10, what="c1 and c2 from c3")
    assert fetch(h2, c3, addrs["c2"]) == c2[:12]

    # A service on the same network: its VIP answers the plain containers.
    h1.docker("service", "create", "-d", "--name", "web", "--replicas", "2", "--network", "app", "busybox",
              "sh", "-c", HTTPD)
    assert wait_for(lambda: len(resolve(h3, c2, "tasks.web")) == 2, timeout=30, what="web's tasks from c2")
    vip = resolve(h3, c2, "web")
    assert len(vip) == 1 and vip[0].startswith("10.30.0."), vip
    assert wait_for(lambda: fetch(h3, c2, "web", check=False), timeout=10, what="web through its VIP from c2")

    # Not attachable: Docker's refusal, and no container left running.
    res = h3.docker("run", "--rm", "--network", "closed", "busybox", "true", check=False)
    assert res.returncode != 0 and "not manually attachable" in res.err, res.err
    res = h1.docker("network", "connect", "closed", "c1", check=False)
    assert res.returncode != 0 and "not manually attachable" in res.err, res.err

    # A stopped container keeps its address and leaves DNS; started again
    # it is back under the same address.
    h1.docker("stop", "-t", "1", "c1")
    assert wait_for(lambda: resolve(h3, c2, "c1") == [], timeout=10, what="c1 out of DNS")
    h1.docker("start", "c1")
    assert ip_on(h1, c1, "app") == addrs["c1"]
    assert wait_for(lambda: resolve(h3, c2, "c1") == [addrs["c1"]], timeout=10, what="c1 back in DNS")

    # Disconnected, then removed: the names go, and the addresses are free
    # for the next container.
    h2.docker("network", "disconnect", "app", "c3")
    assert wait_for(lambda: resolve(h1, c1, "c3") == [], timeout=10, what="c3 out of DNS")
    h3.docker("rm", "-f", "c2")
    assert wait_for(lambda: resolve(h1, c1, "c2") == [], timeout=10, what="c2 out of DNS")
    c4 = h3.docker("run", "-d", "--name", "c4", "--network", "app", "busybox", "sh", "-c", HTTPD).out.strip()
    assert wait_for(lambda: fetch(h1, c1, "c4", check=False) == c4[:12], timeout=10, what="c4 from c1")

    # No service's task: `docker node ps` and `service ps` list none of
    # the attachments.
    out = h1.docker("node", "ps", "--format", "{{.Name}}", h3.docker("info", "--format",
                                                                      "{{.Swarm.NodeID}}").out.strip()).out
    assert all(line.startswith("web.") for line in out.split()), out
    h1.docker("service", "rm", "web")
    h3.docker("rm", "-f", "c4")
    h1.docker("rm", "-f", "c1")
    h2.docker("rm", "-f", "c3")
    assert wait_for(lambda: h1.docker("network", "rm", "app", check=False).returncode == 0, timeout=20,
                    what="app removable once its containers are gone")

"""Overlay networks across three managers: networks as cluster objects,
tasks on every host reaching each other over VXLAN, the embedded DNS
(service name -> VIP, tasks.<svc> -> tasks), VIP load balancing through
nftables (this kernel has no IPVS), isolation, --internal, and clean-up."""

import json
import os
import re
import subprocess
import time

import pytest

from conftest import wait_for
from test_managers import form

HTTPD = ("mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www")


def load(lab, fixtures):
    for h in lab.hosts:
        h.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))


def inspect(h, net):
    return json.loads(h.docker("network", "inspect", net).out)[0]


def _running_tasks(lab, svc, want):
    h = lab.hosts[0]
    out = h.docker("service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", svc).out.split()
    if len(out) != want:
        return None
    per = {}
    for h in lab.hosts:
        for tid in out:
            ids = h.docker("ps", "-q", "--filter", "label=com.docker.swarm.task.id=%s" % tid).out.split()
            if ids:
                per.setdefault(h, []).extend(ids)
    return per if sum(len(v) for v in per.values()) == want else None


def tasks_by_host(lab, svc, want):
    """{host: [container ids]} once the `want` tasks svc should run have
    running containers, and still the same ones a moment later (a task
    the orchestrator replaces right after its start must not be taken)."""
    first = _running_tasks(lab, svc, want)
    if not first:
        return None
    time.sleep(2)
    again = _running_tasks(lab, svc, want)
    return first if again == first else None


def ip_on(h, cid, net):
    out = h.docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", cid).out
    addr = json.loads(out)[net]["IPAddress"]
    assert addr, "no address on %s: %s %s" % (net, out, h.docker("inspect", "--format", "{{json .State}}", cid).out)
    return addr


def fetch(h, cid, addr, check=True):
    res = h.docker("exec", cid, "timeout", "5" if check else "2", "wget", "-qO-", "http://%s/" % addr, check=False)
    if check:
        assert res.returncode == 0, "wget %s from %s: %s" % (addr, h.netns, res.err)
    return res.out.strip() if res.returncode == 0 else None


def resolve(h, cid, name):
    """The IPv4 addresses the container's embedded DNS gives for name."""
    res = h.docker("exec", cid, "nslookup", name, "127.0.0.11", check=False)
    if res.returncode != 0:
        return []
    # busybox prints the server first ("Address: 127.0.0.11:53"), then the answers.
    addrs = re.findall(r"Address(?: \d+)?:\s*([0-9.]+)(?:\s|$)", res.out)
    return sorted(a for a in addrs if a != "127.0.0.11")


def test_overlay_networks_are_cluster_objects(make_lab):
    lab = make_lab(3)
    form(lab)
    h1, h2, h3 = lab.hosts
    # The ingress network exists once the swarm does, on every manager.
    for h in lab.hosts:
        wait_for(lambda: "ingress" in h.docker("network", "ls", "--format", "{{.Name}}").out,
                 what="ingress on %s" % h.netns)
    ing = inspect(h2, "ingress")
    assert ing["Scope"] == "swarm" and ing["Driver"] == "overlay" and ing["Ingress"] is True
    assert ing["IPAM"]["Config"][0]["Subnet"] == "10.0.0.0/24"
    assert ing["Options"]["com.docker.network.driver.overlay.vxlanid_list"] == "4096"

    h1.docker("network", "create", "-d", "overlay", "--attachable", "--label", "tier=front", "front")
    for h in lab.hosts:
        wait_for(lambda: "front" in h.docker("network", "ls", "--filter", "driver=overlay", "--format", "{{.Name}}").out,
                 what="front on %s" % h.netns)
    front = inspect(h3, "front")
    assert front["Scope"] == "swarm" and front["Attachable"] is True and front["Internal"] is False
    assert front["Labels"] == {"tier": "front"}
    assert front["IPAM"]["Config"][0] == {"Subnet": "10.0.1.0/24", "Gateway": "10.0.1.1"}
    assert front["Options"]["com.docker.network.driver.overlay.vxlanid_list"] == "4097"
    assert "front" in h2.docker("network", "ls", "--filter", "scope=swarm", "--format", "{{.Name}}").out
    assert "front" not in h2.docker("network", "ls", "--filter", "scope=local", "--format", "{{.Name}}").out

    h2.docker("network", "create", "-d", "overlay", "--internal", "--subnet", "10.55.0.0/24", "--gateway",
              "10.55.0.254", "--opt", "com.docker.network.driver.mtu=1400", "back")
    back = inspect(h1, "back")
    assert back["Internal"] is True
    assert back["IPAM"]["Config"][0] == {"Subnet": "10.55.0.0/24", "Gateway": "10.55.0.254"}
    assert back["Options"]["com.docker.network.driver.mtu"] == "1400"

    res = h3.docker("network", "create", "-d", "overlay", "--subnet", "10.55.0.128/25", "clash", check=False)
    assert res.returncode != 0 and "overlaps" in res.err, res.err
    res = h3.docker("network", "create", "-d", "overlay", "front", check=False)
    assert res.returncode != 0 and "already exists" in res.err, res.err
    res = h1.docker("network", "create", "-d", "overlay", "--opt", "encrypted", "secret", check=False)
    assert res.returncode != 0 and "encrypted overlay networks are not supported" in res.err, res.err

    h3.docker("network", "rm", "front", "back")
    for h in lab.hosts:
        wait_for(lambda: not {"front", "back"} & set(h.docker("network", "ls", "--format", "{{.Name}}").out.split()),
                 what="networks gone on %s" % h.netns)


def test_service_tasks_reach_each_other_across_hosts(make_lab, fixtures):
    lab = make_lab(3)
    form(lab)
    load(lab, fixtures)
    h1, h2, h3 = lab.hosts
    h1.docker("network", "create", "-d", "overlay", "mesh")
    h1.docker("service", "create", "-d", "--name", "web", "--replicas", "3", "--network", "mesh",
              "--stop-grace-period", "1s", "--replicas-max-per-node", "1", "busybox", "sh", "-c", HTTPD)
    per = wait_for(lambda: tasks_by_host(lab, "web", 3), timeout=60, what="3 tasks of web")
    assert len(per) == 3, "not one task per host: %s" % {h.netns: len(v) for h, v in per.items()}
    svc = json.loads(h2.docker("service", "inspect", "web").out)[0]
    mesh_id = inspect(h1, "mesh")["Id"]
    vips = svc["Endpoint"]["VirtualIPs"]
    assert [v["NetworkID"] for v in vips] == [mesh_id]
    vip = vips[0]["Addr"].split("/")[0]
    assert svc["Spec"]["TaskTemplate"]["Networks"] == [{"Target": mesh_id}]

    def across_hosts():
        # Taken afresh on every try: the orchestrator may replace a task
        # right after its start (seen on main too), and a task is a backend
        # once the store says it runs.
        per = tasks_by_host(lab, "web", 3)
        assert per and len(per) == 3, per
        names = {}   # task address -> the hostname it answers with
        for h, ids in per.items():
            names[ip_on(h, ids[0], "mesh")] = h.docker("exec", ids[0], "hostname").out.strip()
        # Each task answers at its own address from a task on every other host.
        for h, ids in per.items():
            for addr, hostname in names.items():
                assert fetch(h, ids[0], addr) == hostname
        # The embedded DNS: name -> the VIP, tasks.<svc> -> the three tasks.
        client_host, client = h1, per[h1][0]
        assert resolve(client_host, client, "web") == [vip]
        assert resolve(client_host, client, "tasks.web") == sorted(names)
        # The VIP spreads connections over tasks on several hosts.
        seen = {fetch(client_host, client, vip) for _ in range(12)}
        assert len(seen) >= 2 and seen <= set(names.values()), seen
        return True

    wait_for(across_hosts, timeout=120, what="tasks, names and the VIP across hosts")

    # Scale down: the removed tasks leave DNS and the VIP.
    h2.docker("service", "scale", "-d", "web=1")
    wait_for(lambda: tasks_by_host(lab, "web", 1), timeout=60, what="one task of web")

    def one_left():
        # Taken afresh: the orchestrator may replace a task right after its start.
        left = tasks_by_host(lab, "web", 1)
        assert left
        (lh, lids), = left.items()
        addr = ip_on(lh, lids[0], "mesh")
        name = lh.docker("exec", lids[0], "hostname").out.strip()
        assert resolve(lh, lids[0], "tasks.web") == [addr]
        assert {fetch(lh, lids[0], vip) for _ in range(6)} == {name}
        return True

    wait_for(one_left, timeout=60, what="DNS and the VIP after scale down")


def test_overlays_are_isolated_and_internal_has_no_way_out(make_lab, fixtures):
    lab = make_lab(2)
    form(lab)
    load(lab, fixtures)
    h1, h2 = lab.hosts
    h1.docker("network", "create", "-d", "overlay", "red")
    h1.docker("network", "create", "-d", "overlay", "blue")
    h1.docker("network", "create", "-d", "overlay", "--internal", "shut")
    for name, net in (("r", "red"), ("b", "blue"), ("s", "shut")):
        h1.docker("service", "create", "-d", "--name", name, "--replicas", "2", "--network", net,
                  "--stop-grace-period", "1s", "--replicas-max-per-node", "1", "busybox", "sh", "-c", HTTPD)

    def isolated():
        # Taken afresh on every try: the orchestrator may replace a task
        # right after its start (a restart seen on main too).
        r, b, s = (wait_for(lambda: tasks_by_host(lab, name, 2), timeout=60, what="tasks of %s" % name)
                   for name in ("r", "b", "s"))
        rh, rids = next(iter(r.items()))
        bh, bids = next(iter(b.items()))
        sh_, sids = next(iter(s.items()))
        # Every target answers on its own network (so a refusal below is
        # the isolation, not a task that is down)...
        for h, ids in b.items():
            assert fetch(bh, bids[0], ip_on(h, ids[0], "blue")) is not None
        # ... red reaches red, but neither blue's tasks nor the internal network's.
        for h, ids in r.items():
            assert fetch(rh, rids[0], ip_on(h, ids[0], "red")) is not None
        for h, ids in b.items():
            assert fetch(rh, rids[0], ip_on(h, ids[0], "blue"), check=False) is None
        for h, ids in s.items():
            assert fetch(rh, rids[0], ip_on(h, ids[0], "shut"), check=False) is None
        # The internal overlay: its tasks reach each other, not the lab's hosts.
        for h, ids in s.items():
            assert fetch(sh_, sids[0], ip_on(h, ids[0], "shut")) is not None
        res = sh_.docker("exec", sids[0], "timeout", "3", "wget", "-qO-", "http://%s:2377/" % h2.addr, check=False)
        assert res.returncode != 0
        assert "default" not in sh_.docker("exec", sids[0], "ip", "route").out
        return True

    wait_for(isolated, timeout=120, what="isolation checks")


def host_fetch(h, addr, port):
    """GET http://addr:port/ from host h's own namespace (not a container)."""
    res = subprocess.run(["nsenter", "--net=/run/netns/%s" % h.netns, "curl", "-s", "-m", "3",
                          "http://%s:%d/" % (addr, port)], capture_output=True, text=True)
    return res.stdout.strip() if res.returncode == 0 else None


def test_routing_mesh_answers_on_every_node(make_lab, fixtures):
    lab = make_lab(3)
    form(lab)
    load(lab, fixtures)
    h1, h2, h3 = lab.hosts
    # One task, on h1 only: h2 and h3 run none and still answer the port.
    h1.docker("service", "create", "-d", "--name", "pub", "--publish", "8080:80", "--constraint",
              "node.hostname==h1", "--stop-grace-period", "1s", "busybox", "sh", "-c", HTTPD)
    per = wait_for(lambda: tasks_by_host(lab, "pub", 1), timeout=60, what="the task of pub")
    assert list(per) == [h1]
    hostname = h1.docker("exec", per[h1][0], "hostname").out.strip()
    svc = json.loads(h1.docker("service", "inspect", "pub").out)[0]
    ingress_id = inspect(h1, "ingress")["Id"]
    assert [v["NetworkID"] for v in svc["Endpoint"]["VirtualIPs"]] == [ingress_id]
    for h in lab.hosts:
        for target in lab.hosts:
            wait_for(lambda: host_fetch(h, target.addr, 8080) == hostname,
                     what="port 8080 of %s from %s" % (target.netns, h.netns))
    # The ingress network is up on a node without tasks, with its mesh address.
    out = subprocess.run(["ip", "-n", h3.netns, "-br", "addr", "show", "dev", "ov-4096"], capture_output=True,
                         text=True).stdout
    assert "10.0.0.1/24" in out and "10.0.0.25" in out, out
    # Removed: the port stops answering and the ingress devices go.
    h2.docker("service", "rm", "pub")
    for h in lab.hosts:
        wait_for(lambda: host_fetch(h, h.addr, 8080) is None, what="port closed on %s" % h.netns)
        wait_for(lambda: subprocess.run(["ip", "-n", h.netns, "link", "show", "vx-4096"],
                                        capture_output=True).returncode != 0, what="vx-4096 gone on %s" % h.netns)


def links(h, prefix):
    out = subprocess.run(["ip", "-n", h.netns, "-o", "link", "show"], capture_output=True, text=True).stdout
    return [l.split(":")[1].strip().split("@")[0] for l in out.splitlines() if l.split(":")[1].strip().startswith(prefix)]


def test_restart_rebuilds_and_cycles_leave_nothing(make_lab, fixtures):
    lab = make_lab(2)
    form(lab)
    load(lab, fixtures)
    h1, h2 = lab.hosts
    h1.docker("network", "create", "-d", "overlay", "cyc")

    def reach_both():
        per = wait_for(lambda: tasks_by_host(lab, "echo", 2), timeout=60, what="2 tasks of echo")
        (ha, ia), (hb, ib) = per.items()
        return fetch(ha, ia[0], ip_on(hb, ib[0], "cyc"), check=False) is not None and \
            fetch(hb, ib[0], ip_on(ha, ia[0], "cyc"), check=False) is not None

    h1.docker("service", "create", "-d", "--name", "echo", "--replicas", "2", "--replicas-max-per-node", "1",
              "--network", "cyc", "--stop-grace-period", "1s", "busybox", "sh", "-c", HTTPD)
    wait_for(reach_both, timeout=90, what="tasks reaching each other")
    # A stopped and restarted node gets its overlay state back from the store.
    assert h2.stop() == 0
    assert not links(h2, "vx-") and not links(h2, "ov-")   # a clean stop removes them
    h2.start()
    wait_for(reach_both, timeout=90, what="tasks reaching each other after h2's restart")
    h1.docker("service", "rm", "echo")
    # Create/remove cycles: nothing stays behind on any host.
    for i in range(10):
        h1.docker("service", "create", "-d", "--name", "c%d" % i, "--network", "cyc", "--publish", "%d:80" % (9000 + i),
                  "--stop-grace-period", "1s", "busybox", "sh", "-c", HTTPD)
        wait_for(lambda: tasks_by_host(lab, "c%d" % i, 1), timeout=60, what="task of c%d" % i)
        h1.docker("service", "rm", "c%d" % i)
    for h in lab.hosts:
        wait_for(lambda: not h.docker("ps", "-q").out.strip(), timeout=60, what="no task left on %s" % h.netns)
    wait_for(lambda: h1.docker("network", "rm", "cyc", check=False).returncode == 0, timeout=60, what="network rm")
    for h in lab.hosts:
        wait_for(lambda: not links(h, "vx-") and not links(h, "ov-") and not links(h, "veth"),
                 what="no overlay devices on %s" % h.netns)
        fdb = subprocess.run(["bridge", "-n", h.netns, "fdb", "show"], capture_output=True, text=True).stdout
        assert "dst 10.77." not in fdb, fdb
        rules = subprocess.run(["ip", "netns", "exec", h.netns, "nft", "list", "table", "ip", "berth"],
                               capture_output=True, text=True).stdout
        assert "ov-" not in rules and "dport 9" not in rules, rules


def test_docker_py_networks_and_services(make_lab, fixtures):
    lab = make_lab(1)
    h1 = lab.hosts[0]
    h1.docker("swarm", "init", "--advertise-addr", h1.addr)
    h1.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    import docker
    client = h1.client()
    net = client.networks.create("pynet", driver="overlay", attachable=True, labels={"k": "v"},
                                 ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.66.0.0/24")]))
    net.reload()
    assert net.attrs["Scope"] == "swarm" and net.attrs["Driver"] == "overlay" and net.attrs["Labels"] == {"k": "v"}
    assert net.attrs["IPAM"]["Config"][0]["Subnet"] == "10.66.0.0/24"
    assert "pynet" in [n.name for n in client.networks.list(filters={"driver": "overlay"})]
    svc = client.services.create("busybox", ["sh", "-c", HTTPD], name="pysvc", networks=["pynet"],
                                 endpoint_spec=docker.types.EndpointSpec(mode="dnsrr"))
    svc.reload()
    assert svc.attrs["Spec"]["TaskTemplate"]["Networks"] == [{"Target": net.id}]
    assert "VirtualIPs" not in svc.attrs["Endpoint"]   # dnsrr: no VIP
    tasks = wait_for(lambda: [t for t in svc.tasks() if t["Status"]["State"] == "running"], timeout=60,
                     what="pysvc running")
    addrs = tasks[0]["NetworksAttachments"][0]["Addresses"]
    assert addrs and addrs[0].startswith("10.66.0.")
    cid = tasks[0]["Status"]["ContainerStatus"]["ContainerID"]
    # dnsrr: the service name gives the tasks' addresses.
    wait_for(lambda: resolve(h1, cid, "pysvc") == [addrs[0].split("/")[0]], what="pysvc -> its task")
    res = h1.docker("network", "rm", "pynet", check=False)
    assert res.returncode != 0 and "in use by service pysvc" in res.err, res.err
    # network-add: the tasks are replaced by ones on both networks.
    h1.docker("network", "create", "-d", "overlay", "pynet2")
    h1.docker("service", "update", "-d", "--network-add", "name=pynet2,alias=extra", "pysvc")

    def on_both():
        run = [t for t in svc.tasks() if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]
        assert len(run) == 1
        nets = sorted(a["Network"]["Spec"]["Name"] for a in run[0]["NetworksAttachments"])
        assert nets == ["pynet", "pynet2"], nets
        cid = run[0]["Status"]["ContainerStatus"]["ContainerID"]
        out = h1.docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", cid).out
        assert sorted(json.loads(out)) == ["pynet", "pynet2"]
        return cid

    cid = wait_for(on_both, timeout=60, what="pysvc on pynet and pynet2")
    wait_for(lambda: len(resolve(h1, cid, "extra")) == 1, what="the alias on pynet2")
    svc.remove()
    # One network at a time: a retried `rm pynet pynet2` would fail on the
    # one an earlier try had already removed.
    for name in ("pynet", "pynet2"):
        wait_for(lambda: h1.docker("network", "rm", name, check=False).returncode == 0
                 or name not in h1.docker("network", "ls", "--format", "{{.Name}}").out.split(),
                 timeout=60, what="%s removed" % name)

"""Bridge networks: the default bridge, user-defined networks with embedded
DNS, published ports, connect/disconnect, and nothing left behind.

"The host" is the daemon's own network namespace; "another namespace" is a
peer namespace joined to it by a veth pair (10.99.0.1 on the daemon's
side, 10.99.0.2 on the peer's)."""

import json
import os
import re
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"


@pytest.fixture(scope="module")
def d(daemon, fixtures):
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return daemon


def make_peer(d, suffix, ours, theirs, extra=()):
    """A namespace joined to the daemon's by a veth pair, ours on the
    daemon's side and theirs on the peer's (extra: more `ip addr add`
    words, such as "nodad"); returns its name (delete it with ip netns del)."""
    name = d.netns + "-" + suffix
    tag = "%s%x" % (suffix[:1], os.getpid() & 0xfffff)
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "link", "add", "b" + tag, "type", "veth", "peer", "name", "c" + tag], check=True)
    subprocess.run(["ip", "link", "set", "b" + tag, "netns", d.netns], check=True)
    subprocess.run(["ip", "link", "set", "c" + tag, "netns", name], check=True)
    for ns, dev, addr in ((d.netns, "b" + tag, ours), (name, "c" + tag, theirs)):
        subprocess.run(["ip", "-n", ns, "addr", "add", addr, "dev", dev] + list(extra), check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
    return name


@pytest.fixture(scope="module")
def peer(d):
    """Another namespace, reachable from the daemon's at 10.99.0.2."""
    name = make_peer(d, "peer", "10.99.0.1/24", "10.99.0.2/24")
    yield name
    subprocess.run(["ip", "netns", "del", name])


def peer_run(peer, *cmd, check=True, timeout=30):
    res = subprocess.run(["nsenter", "--net=/run/netns/" + peer] + list(cmd), capture_output=True, timeout=timeout)
    res.out = res.stdout.decode(errors="replace")
    if check and res.returncode != 0:
        raise AssertionError("%s: %s %s" % (cmd, res.out, res.stderr.decode(errors="replace")))
    return res


def fetch(run, url):
    """The body at url fetched with the host's busybox wget, or None."""
    res = run("timeout", "5", "busybox", "wget", "-qO-", url, check=False)
    return res.out if res.returncode == 0 else None


def run(d, *args, check=True):
    return d.docker("run", "--rm", *args, check=check)


def inspect(d, what, fmt):
    return d.docker("inspect", "-f", fmt, what).out.strip()


def httpd(d, *args, body="hello from berth\n"):
    """A busybox httpd serving body on port 80, once it listens; returns its ID."""
    cid = d.docker("run", "-d", *args, "busybox", "sh", "-c",
                   "mkdir -p /www && printf '%s' > /www/index.html && exec httpd -f -p 80 -h /www" % body).out.strip()
    deadline = time.time() + 10
    while time.time() < deadline:
        if d.docker("exec", cid, "sh", "-c", "netstat -ltn | grep -q ':80 '", check=False).returncode == 0:
            break
        time.sleep(0.05)
    return cid


# ---- the default bridge -------------------------------------------------------


def test_default_networks(d):
    out = d.docker("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}").out.split("\n")
    assert {"bridge bridge local", "host host local", "none null local"} <= set(out)
    net = json.loads(d.docker("network", "inspect", "bridge").out)[0]
    assert net["IPAM"]["Config"] == [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]
    assert net["Options"]["com.docker.network.bridge.name"] == "docker0"
    assert net["Options"]["com.docker.network.bridge.default_bridge"] == "true"
    assert "inet 172.17.0.1/16" in d.netns_run("ip", "addr", "show", "docker0").out


def test_run_gets_address_route_and_reaches_gateway(d):
    out = run(d, "busybox", "sh", "-c", "ip -4 addr show eth0; ip route; ping -c1 -W2 172.17.0.1 >/dev/null && echo PING-OK").out
    assert re.search(r"inet 172\.17\.0\.\d+/16", out), out
    assert "default via 172.17.0.1 dev eth0" in out
    assert "PING-OK" in out
    # The default bridge resolves through the host's servers, not 127.0.0.11.
    assert "127.0.0.11" not in run(d, "busybox", "cat", "/etc/resolv.conf").out


def test_inspect_network_settings(d):
    cid = d.docker("run", "-d", "busybox", "sleep", "30").out.strip()
    try:
        s = json.loads(inspect(d, cid, "{{json .NetworkSettings}}"))
        ep = s["Networks"]["bridge"]
        assert ep["IPAddress"].startswith("172.17.0.") and ep["Gateway"] == "172.17.0.1"
        assert ep["IPPrefixLen"] == 16 and s["IPAddress"] == ep["IPAddress"]
        assert ep["MacAddress"] == "02:42:ac:11:%s" % ":".join("%02x" % int(x) for x in ep["IPAddress"].split(".")[2:])
        assert s["SandboxKey"].startswith("/proc/")
        net = json.loads(d.docker("network", "inspect", "bridge").out)[0]
        assert net["Containers"][cid]["IPv4Address"] == ep["IPAddress"] + "/16"
        hosts = d.docker("exec", cid, "cat", "/etc/hosts").out
        assert "%s\t%s" % (ep["IPAddress"], cid[:12]) in hosts
    finally:
        d.docker("rm", "-f", cid)
    stopped = json.loads(d.docker("inspect", cid, check=False).out or "[]")
    assert stopped == []


def test_outbound_masquerade(d, peer):
    # The peer has no route back to 172.17/16: only masquerading lets the reply in.
    out = run(d, "busybox", "sh", "-c", "ping -c1 -W2 10.99.0.2 >/dev/null && echo OUT-OK").out
    assert "OUT-OK" in out


# ---- published ports ------------------------------------------------------------


def test_published_port_from_host_localhost_and_peer(d, peer):
    cid = httpd(d, "-p", "18080:80", "--name", "web1")
    try:
        assert d.docker("port", cid).out.strip() == "80/tcp -> 0.0.0.0:18080"
        ps = d.docker("ps", "--filter", "id=" + cid, "--format", "{{.Ports}}").out.strip()
        assert ps == "0.0.0.0:18080->80/tcp"
        host = lambda *c, check=True: d.netns_run(*c, check=check)
        assert fetch(host, "http://127.0.0.1:18080/") == "hello from berth\n"
        assert fetch(host, "http://10.99.0.1:18080/") == "hello from berth\n"
        assert fetch(lambda *c, check=True: peer_run(peer, *c, check=check), "http://10.99.0.1:18080/") == "hello from berth\n"
        # Another container reaches it through the gateway.
        out = run(d, "busybox", "sh", "-c", "timeout 5 wget -qO- http://172.17.0.1:18080/").out
        assert out == "hello from berth\n"
        # The port is taken: a clear error, nothing half made.
        rules = d.netns_run("nft", "list", "table", "ip", "berth").out
        res = d.docker("run", "-d", "--name", "web2", "-p", "18080:80", "busybox", "sleep", "5", check=False)
        assert res.returncode == 125 and "port is already allocated" in res.err, res.err
        assert inspect(d, "web2", "{{.State.Running}}") == "false"
        assert d.netns_run("nft", "list", "table", "ip", "berth").out == rules
        d.docker("rm", "-f", "web2")
    finally:
        d.docker("rm", "-f", cid)
    assert fetch(lambda *c, check=True: d.netns_run(*c, check=check), "http://127.0.0.1:18080/") is None
    assert "18080" not in d.netns_run("nft", "list", "table", "ip", "berth").out


def test_port_taken_by_host_program(d):
    srv = subprocess.Popen(["nsenter", "--net=/run/netns/" + d.netns, PY, "-c",
                            "import socket,time; s=socket.socket(); s.bind(('0.0.0.0',18090)); s.listen(); "
                            "print('ready', flush=True); time.sleep(30)"], stdout=subprocess.PIPE)
    try:
        assert srv.stdout.readline().strip() == b"ready"
        res = d.docker("run", "--rm", "-p", "18090:80", "busybox", "true", check=False)
        assert res.returncode == 125 and "address already in use" in res.err, res.err
    finally:
        srv.kill()
        srv.wait()


def test_ephemeral_publish_all_and_udp(d):
    cid = d.docker("run", "-d", "-p", "80", "--expose", "81", "--expose", "82/udp", "-P", "busybox", "sleep", "30").out.strip()
    try:
        ports = json.loads(inspect(d, cid, "{{json .NetworkSettings.Ports}}"))
        assert set(ports) == {"80/tcp", "81/tcp", "82/udp"}
        for key, binding in ports.items():
            assert binding[0]["HostIp"] == "0.0.0.0" and int(binding[0]["HostPort"]) > 1024, ports
        assert re.match(r"0\.0\.0\.0:\d+", d.docker("port", cid, "82/udp").out.strip())
    finally:
        d.docker("rm", "-f", cid)


def test_publish_on_one_address(d):
    cid = httpd(d, "-p", "127.0.0.1:18081:80")
    try:
        assert d.docker("port", cid, "80").out.strip() == "127.0.0.1:18081"
        host = lambda *c, check=True: d.netns_run(*c, check=check)
        assert fetch(host, "http://127.0.0.1:18081/") == "hello from berth\n"
        assert fetch(host, "http://10.99.0.1:18081/") is None
    finally:
        d.docker("rm", "-f", cid)


# ---- user-defined networks and DNS -------------------------------------------------


def test_user_network_names_aliases_and_isolation(d):
    d.docker("network", "create", "--subnet", "10.50.0.0/24", "--label", "team=a", "front")
    d.docker("network", "create", "back")
    try:
        web = httpd(d, "--network", "front", "--name", "web", "--network-alias", "www", "--ip", "10.50.0.50",
                    body="front page\n")
        other = httpd(d, "--network", "back", "--name", "hidden", body="back page\n")
        try:
            out = run(d, "--network", "front", "busybox", "sh", "-c",
                      "cat /etc/resolv.conf; nslookup web; nslookup www; timeout 5 wget -qO- http://www/; "
                      "timeout 5 wget -qO- http://%s/ || echo SHORT-ID-FAIL" % web[:12]).out
            assert "nameserver 127.0.0.11" in out and "options ndots:0" in out
            assert out.count("10.50.0.50") >= 2, out
            assert "front page" in out and "SHORT-ID-FAIL" not in out
            # Not across networks: neither by name nor by address.
            hidden_ip = inspect(d, "hidden", "{{.NetworkSettings.Networks.back.IPAddress}}")
            res = run(d, "--network", "front", "busybox", "nslookup", "hidden", check=False)
            assert hidden_ip not in res.out
            res = run(d, "--network", "front", "busybox", "ping", "-c1", "-W1", hidden_ip, check=False)
            assert res.returncode != 0 and "0 packets received" in res.out
            # Inspect lists the containers with their addresses.
            net = json.loads(d.docker("network", "inspect", "front").out)[0]
            assert net["Containers"][web]["IPv4Address"] == "10.50.0.50/24"
            assert net["Labels"] == {"team": "a"} and net["IPAM"]["Config"][0]["Subnet"] == "10.50.0.0/24"
            names = d.docker("network", "ls", "--filter", "label=team=a", "--format", "{{.Name}}").out.split()
            assert names == ["front"]
            # In use: 409 with dockerd's words.
            res = d.docker("network", "rm", "front", check=False)
            assert res.returncode == 1 and "has active endpoints" in res.err
            st, _, _ = d.request("DELETE", "/v1.47/networks/front")
            assert st == 409
        finally:
            d.docker("rm", "-f", web, other)
    finally:
        d.docker("network", "rm", "front", "back")
    assert "front" not in d.docker("network", "ls").out


def test_connect_disconnect_running(d):
    d.docker("network", "create", "--subnet", "10.51.0.0/24", "n1")
    d.docker("network", "create", "--subnet", "10.52.0.0/24", "n2")
    try:
        cid = d.docker("run", "-d", "--network", "n1", "--name", "hopper", "busybox", "sleep", "60").out.strip()
        d.docker("network", "connect", "--ip", "10.52.0.9", "--alias", "grace", "n2", "hopper")
        out = d.docker("exec", cid, "ip", "-4", "addr").out
        assert "10.51.0." in out and "inet 10.52.0.9/24" in out and "eth1" in out
        out = run(d, "--network", "n2", "busybox", "nslookup", "grace").out
        assert "10.52.0.9" in out
        nets = json.loads(inspect(d, cid, "{{json .NetworkSettings.Networks}}"))
        assert set(nets) == {"n1", "n2"} and nets["n2"]["Aliases"] == ["grace"]
        res = d.docker("network", "connect", "n2", "hopper", check=False)
        assert res.returncode != 0 and "already exists" in res.err
        d.docker("network", "disconnect", "n2", "hopper")
        assert "eth1" not in d.docker("exec", cid, "ip", "-4", "addr").out
        res = run(d, "--network", "n2", "busybox", "nslookup", "grace", check=False)
        assert "10.52.0.9" not in res.out
        d.docker("rm", "-f", cid)
        # A stopped container is connected for its next start.
        cid = d.docker("create", "--network", "n1", "busybox", "ip", "-4", "addr").out.strip()
        d.docker("network", "connect", "n2", cid)
        d.docker("start", "-a", cid)
        logs = d.docker("logs", cid).out
        assert "10.51.0." in logs and "10.52.0." in logs
        d.docker("rm", cid)
    finally:
        d.docker("network", "rm", "n1", "n2")


def test_internal_network_has_no_way_out(d, peer):
    d.docker("network", "create", "--internal", "sealed")
    try:
        res = run(d, "--network", "sealed", "busybox", "sh", "-c", "ip route; ping -c1 -W2 10.99.0.2", check=False)
        assert res.returncode != 0 and "default" not in res.out
        assert json.loads(d.docker("network", "inspect", "sealed").out)[0]["Internal"] is True
    finally:
        d.docker("network", "rm", "sealed")


def test_dns_forwarding_to_upstream(d, peer):
    stub = subprocess.Popen(["nsenter", "--net=/run/netns/" + peer, PY, os.path.join(HERE, "dns_stub.py"),
                             "10.99.0.2", "ext.example=192.0.2.7"], stdout=subprocess.PIPE)
    try:
        assert stub.stdout.readline().strip() == b"ready"
        d.docker("network", "create", "fwd")
        try:
            out = run(d, "--network", "fwd", "--dns", "10.99.0.2", "--dns-search", "corp.example", "--dns-option",
                      "timeout:2", "busybox", "sh", "-c", "cat /etc/resolv.conf; nslookup ext.example").out
            assert "192.0.2.7" in out, out
            assert "search corp.example" in out and "timeout:2" in out and "nameserver 127.0.0.11" in out
            res = run(d, "--network", "fwd", "--dns", "10.99.0.2", "busybox", "nslookup", "nothere.example", check=False)
            assert "192.0.2.7" not in res.out
        finally:
            d.docker("network", "rm", "fwd")
    finally:
        stub.kill()
        stub.wait()


def test_etc_hosts_and_hostname_options(d):
    d.docker("network", "create", "hn")
    try:
        out = run(d, "--network", "hn", "--hostname", "box1", "--add-host", "db.local:10.9.9.9", "--add-host",
                  "gw:host-gateway", "busybox", "sh", "-c", "hostname; cat /etc/hosts").out
        gw = json.loads(d.docker("network", "inspect", "hn").out)[0]["IPAM"]["Config"][0]["Gateway"]
        assert out.startswith("box1\n")
        assert "10.9.9.9\tdb.local" in out and "%s\tgw" % gw in out
        assert re.search(r"\d+\.\d+\.\d+\.\d+\tbox1", out)
    finally:
        d.docker("network", "rm", "hn")


def test_network_create_errors_and_prune(d):
    d.docker("network", "create", "--subnet", "10.60.0.0/16", "a1")
    try:
        res = d.docker("network", "create", "--subnet", "10.60.1.0/24", "a2", check=False)
        assert res.returncode != 0 and "overlaps" in res.err
        res = d.docker("network", "create", "a1", check=False)
        assert res.returncode != 0 and "already exists" in res.err
        res = d.docker("network", "rm", "bridge", check=False)
        assert res.returncode != 0 and "pre-defined network" in res.err
        res = d.docker("network", "create", "-d", "host", "h2", check=False)
        assert res.returncode != 0 and "only one instance" in res.err
        res = d.docker("run", "--rm", "--network", "nosuchnet", "busybox", "true", check=False)
        assert res.returncode == 125 and "network nosuchnet not found" in res.err
        res = d.docker("run", "--rm", "--ip", "172.17.0.99", "busybox", "true", check=False)
        assert res.returncode == 125 and "user defined networks" in res.err
        d.docker("network", "create", "--opt", "com.docker.network.bridge.name=brtest0", "--gateway", "10.61.0.254",
                 "--subnet", "10.61.0.0/24", "--ip-range", "10.61.0.128/25", "a3")
        assert "inet 10.61.0.254/24" in d.netns_run("ip", "addr", "show", "brtest0").out
        out = run(d, "--network", "a3", "busybox", "ip", "-4", "addr", "show", "eth0").out
        assert "inet 10.61.0.128/24" in out
        pruned = d.docker("network", "prune", "-f").out
        assert "a1" in pruned and "a3" in pruned
        assert not d.netns_run("ip", "link", "show", "brtest0", check=False).returncode == 0
    finally:
        d.docker("network", "rm", "a1", "a3", check=False)


# ---- clean-up and restarts ----------------------------------------------------------


def counts(d):
    links = len(d.netns_run("ip", "-o", "link").out.splitlines())
    addrs = len(d.netns_run("ip", "-o", "-4", "addr").out.splitlines())
    rules = d.netns_run("nft", "list", "table", "ip", "berth", check=False).out
    return links, addrs, rules


def test_no_residue_after_100_cycles(d):
    client = d.client("1.44")
    base = client.networks.create("cyc-a", driver="bridge")
    other = client.networks.create("cyc-b", driver="bridge")
    try:
        before = counts(d)
        for i in range(100):
            c = client.containers.run("busybox", ["sleep", "60"], detach=True, network="cyc-a",
                                      ports={"80/tcp": 19000 + i % 5})
            other.connect(c, aliases=["x%d" % i])
            other.disconnect(c)
            c.remove(force=True)
        # The kernel deletes a dead namespace's veths on its own, shortly after.
        deadline = time.time() + 10
        while counts(d) != before and time.time() < deadline:
            time.sleep(0.1)
        assert counts(d) == before
    finally:
        base.remove()
        other.remove()


def test_addresses_and_ports_survive_daemon_restart(make_daemon, fixtures):
    d = make_daemon()
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    d.docker("network", "create", "--subnet", "10.70.0.0/24", "keep")
    cid = httpd(d, "--network", "keep", "--restart", "always", "-p", "18100:80")
    ip = inspect(d, cid, "{{.NetworkSettings.Networks.keep.IPAddress}}")
    host = lambda *c, check=True: d.netns_run(*c, check=check)
    assert fetch(host, "http://127.0.0.1:18100/") == "hello from berth\n"
    assert d.stop() == 0
    # A clean stop takes berth's rules with it; the bridge stays, as with dockerd.
    assert d.netns_run("nft", "list", "table", "ip", "berth", check=False).returncode != 0
    d.start()
    deadline = time.time() + 10
    while inspect(d, cid, "{{.State.Running}}") != "true" and time.time() < deadline:
        time.sleep(0.1)
    assert inspect(d, cid, "{{.NetworkSettings.Networks.keep.IPAddress}}") == ip
    assert fetch(host, "http://127.0.0.1:18100/") == "hello from berth\n"
    # kill -9: the next daemon puts the same rules back.
    d.stop(sig=9)
    d.start()
    deadline = time.time() + 10
    while fetch(host, "http://127.0.0.1:18100/") is None and time.time() < deadline:
        time.sleep(0.2)
    assert fetch(host, "http://127.0.0.1:18100/") == "hello from berth\n"
    assert inspect(d, cid, "{{.NetworkSettings.Networks.keep.IPAddress}}") == ip
    d.docker("rm", "-f", cid)


def test_ps_filters_and_network_events(d):
    since = str(int(time.time()) - 1)
    d.docker("network", "create", "evnet")
    try:
        cid = d.docker("run", "-d", "--network", "evnet", "-p", "18200:80", "--expose", "81", "busybox", "sleep",
                       "30").out.strip()
        other = d.docker("run", "-d", "busybox", "sleep", "30").out.strip()
        try:
            ids = lambda *f: d.docker("ps", "-q", "--no-trunc", *sum((["--filter", x] for x in f), [])).out.split()
            assert ids("network=evnet") == [cid]
            assert other in ids("network=bridge") and cid not in ids("network=bridge")
            assert ids("publish=80") == [cid] and ids("publish=80/tcp") == [cid] and ids("publish=81") == []
            assert ids("expose=81") == [cid] and ids("expose=80/udp") == []
        finally:
            d.docker("rm", "-f", cid, other)
    finally:
        d.docker("network", "rm", "evnet")
    out = d.docker("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter", "network=evnet",
                   "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}").out.strip().split("\n")
    assert out[0] == "network create evnet" and out[-1] == "network destroy evnet"
    assert "network connect evnet" in out and "network disconnect evnet" in out


def test_alias_round_robin(d):
    d.docker("network", "create", "rr")
    try:
        ids = [d.docker("run", "-d", "--network", "rr", "--network-alias", "pool", "busybox", "sleep", "60").out.strip()
               for _ in range(2)]
        ips = {inspect(d, c, "{{.NetworkSettings.Networks.rr.IPAddress}}") for c in ids}
        out = run(d, "--network", "rr", "busybox", "sh", "-c",
                  "for i in $(seq 20); do nslookup pool | grep -A1 '^Name:' | tail -1; done").out
        firsts = {l.split()[-1] for l in out.splitlines() if l.startswith("Address")}
        assert firsts == ips, out
        d.docker("rm", "-f", *ids)
    finally:
        d.docker("network", "rm", "rr")

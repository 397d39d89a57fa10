"""IPv6 on bridge networks: dual-stack user networks (--ipv6 with or without
--subnet), --ip6, the embedded DNS's AAAA and ip6.arpa answers, outbound
NAT and published ports through the ip6 nftables table, and the default
bridge with --ipv6 / --fixed-cidr-v6.

"The peer" is another namespace joined to the daemon's by a veth pair
(fd99::1 on the daemon's side, fd99::2 on the peer's); it has no route to
any container subnet, so only NAT lets a container's traffic come back."""

import ipaddress
import json
import os
import re
import subprocess
import time

import pytest

from test_networks import fetch, httpd, inspect, make_peer, peer_run, run


@pytest.fixture(scope="module")
def d(daemon, fixtures):
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return daemon


@pytest.fixture(scope="module")
def peer(d):
    name = make_peer(d, "p6", "fd99::1/64", "fd99::2/64", extra=("nodad",))
    yield name
    subprocess.run(["ip", "netns", "del", name])


@pytest.fixture(scope="module")
def v6net(d):
    d.docker("network", "create", "--ipv6", "--subnet", "fd00:1::/64", "v6net")
    yield "v6net"
    d.docker("network", "rm", "v6net", check=False)


def test_dual_stack_network_inspect(d, v6net):
    net = json.loads(d.docker("network", "inspect", v6net).out)[0]
    assert net["EnableIPv6"] is True
    cfg = net["IPAM"]["Config"]
    # An IPv4 subnet from the default pools beside the IPv6 one asked for.
    assert len(cfg) == 2 and "." in cfg[0]["Subnet"], cfg
    assert cfg[1] == {"Subnet": "fd00:1::/64", "Gateway": "fd00:1::1"}
    bridge = net["Options"].get("com.docker.network.bridge.name") or "br-" + net["Id"][:12]
    assert "inet6 fd00:1::1/64" in d.netns_run("ip", "-6", "addr", "show", bridge).out


def test_container_address_route_and_inspect(d, v6net):
    cid = d.docker("run", "-d", "--network", v6net, "busybox", "sleep", "60").out.strip()
    try:
        out = d.docker("exec", cid, "sh", "-c", "ip -6 addr show eth0; ip -6 route").out
        m = re.search(r"inet6 (fd00:1::[0-9a-f]+)/64 scope global(.*)", out)
        assert m, out
        assert "tentative" not in m.group(2), out
        assert "default via fd00:1::1 dev eth0" in out, out
        ep = json.loads(inspect(d, cid, "{{json .NetworkSettings.Networks.v6net}}"))
        assert ep["GlobalIPv6Address"] == m.group(1)
        assert ep["GlobalIPv6PrefixLen"] == 64 and ep["IPv6Gateway"] == "fd00:1::1"
        assert ep["IPAddress"] and ep["Gateway"]
        net = json.loads(d.docker("network", "inspect", v6net).out)[0]
        assert net["Containers"][cid]["IPv6Address"] == m.group(1) + "/64"
        # The gateway answers over IPv6 at once (no duplicate address detection wait).
        assert d.docker("exec", cid, "ping", "-6", "-c1", "-W2", "fd00:1::1", check=False).returncode == 0
        hosts = d.docker("exec", cid, "cat", "/etc/hosts").out
        assert "%s\t%s" % (m.group(1), cid[:12]) in hosts
    finally:
        d.docker("rm", "-f", cid)
    # The address went back: a stopped container shows none.
    net = json.loads(d.docker("network", "inspect", v6net).out)[0]
    assert net["Containers"] == {}


def test_ip6_chosen_address_and_errors(d, v6net):
    cid = d.docker("run", "-d", "--network", v6net, "--ip6", "fd00:1::99", "busybox", "sleep", "60").out.strip()
    try:
        assert inspect(d, cid, "{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}}") == "fd00:1::99"
        assert "fd00:1::99/64" in d.docker("exec", cid, "ip", "-6", "addr", "show", "eth0").out
        taken = d.docker("run", "--rm", "--network", v6net, "--ip6", "fd00:1::99", "busybox", "true", check=False)
        assert taken.returncode != 0 and "Address already in use" in taken.err, taken.err
    finally:
        d.docker("rm", "-f", cid)
    outside = d.docker("run", "--rm", "--network", v6net, "--ip6", "fd00:2::5", "busybox", "true", check=False)
    assert outside.returncode != 0 and "fd00:2::5" in outside.err, outside.err
    bad = d.docker("run", "--rm", "--network", v6net, "--ip6", "10.1.2.3", "busybox", "true", check=False)
    assert bad.returncode != 0
    default = d.docker("run", "--rm", "--ip6", "fd00:1::7", "busybox", "true", check=False)
    assert default.returncode != 0 and "user defined networks only" in default.err, default.err
    # docker network connect --ip6 on a running container, and disconnect.
    cid = d.docker("run", "-d", "busybox", "sleep", "60").out.strip()
    try:
        d.docker("network", "connect", "--ip6", "fd00:1::77", v6net, cid)
        assert "inet6 fd00:1::77/64" in d.docker("exec", cid, "ip", "-6", "addr", "show", "eth1").out
        assert "default via fd00:1::1" in d.docker("exec", cid, "ip", "-6", "route").out
        d.docker("network", "disconnect", v6net, cid)
        # The address is free again at once.
        other = d.docker("run", "--rm", "--network", v6net, "--ip6", "fd00:1::77", "busybox", "true", check=False)
        assert other.returncode == 0, other.err
    finally:
        d.docker("rm", "-f", cid)
    d.docker("network", "create", "v4only")
    try:
        r = d.docker("run", "--rm", "--network", "v4only", "--ip6", "fd00:1::8", "busybox", "true", check=False)
        assert r.returncode != 0 and "no configured subnet contains IP address fd00:1::8" in r.err, r.err
    finally:
        d.docker("network", "rm", "v4only")


def test_names_resolve_to_aaaa_and_back(d, v6net):
    peer_c = d.docker("run", "-d", "--network", v6net, "--name", "six", "--network-alias", "sixalias",
                      "busybox", "sleep", "60").out.strip()
    try:
        ip6 = inspect(d, peer_c, "{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}}")
        ip4 = inspect(d, peer_c, "{{.NetworkSettings.Networks.v6net.IPAddress}}")
        out = run(d, "--network", v6net, "busybox", "sh", "-c",
                  "nslookup -type=aaaa six 127.0.0.11; nslookup -type=aaaa sixalias 127.0.0.11;"
                  "nslookup -type=a six 127.0.0.11; ping -6 -c1 -W2 six >/dev/null && echo PING6-OK").out
        assert out.count(ip6) == 2, out
        assert ip4 in out, out
        assert "PING6-OK" in out, out
        # PTR of the IPv6 address: the container's name on the network.
        nibbles = "".join("%04x" % int(g, 16) for g in expand(ip6).split(":"))
        arpa = ".".join(reversed(nibbles)) + ".ip6.arpa"
        ptr = run(d, "--network", v6net, "busybox", "nslookup", "-type=ptr", arpa, "127.0.0.11").out
        assert "six.v6net" in ptr, ptr
    finally:
        d.docker("rm", "-f", peer_c)


def expand(addr):
    """fd00:1::2 -> fd00:1:0:0:0:0:0:2"""
    head, _, tail = addr.partition("::")
    h = head.split(":") if head else []
    t = tail.split(":") if tail else []
    return ":".join(h + ["0"] * (8 - len(h) - len(t)) + t)


def test_auto_subnets_are_distinct_ula_64s(d):
    d.docker("network", "create", "--ipv6", "auto1")
    d.docker("network", "create", "--ipv6", "auto2")
    try:
        subs = []
        for name in ("auto1", "auto2"):
            cfg = json.loads(d.docker("network", "inspect", name).out)[0]["IPAM"]["Config"]
            v6 = [c for c in cfg if ":" in c["Subnet"]]
            assert len(v6) == 1, cfg
            net = ipaddress.ip_network(v6[0]["Subnet"])
            assert net.prefixlen == 64 and net.subnet_of(ipaddress.ip_network("fd00::/8")), v6
            assert v6[0]["Gateway"] == str(net[1])
            subs.append(v6[0]["Subnet"])
        assert subs[0] != subs[1]
        # The same host's /48 (dockerd derives it from the engine ID).
        assert ipaddress.ip_network(subs[0]).supernet(new_prefix=48) == \
            ipaddress.ip_network(subs[1]).supernet(new_prefix=48)
        # An IPv6 subnet of another network is refused.
        clash = d.docker("network", "create", "--ipv6", "--subnet", subs[0], "auto3", check=False)
        assert clash.returncode != 0 and "overlaps" in clash.err, clash.err
    finally:
        d.docker("network", "rm", "auto1", "auto2")


def test_ipv6_subnet_without_ipv6_is_not_used(d):
    # As dockerd: an IPv6 config on a network created without --ipv6 is ignored.
    d.docker("network", "create", "--subnet", "fd00:5::/64", "nov6")
    try:
        net = json.loads(d.docker("network", "inspect", "nov6").out)[0]
        assert net["EnableIPv6"] is False
        assert all(":" not in c["Subnet"] for c in net["IPAM"]["Config"]), net["IPAM"]
    finally:
        d.docker("network", "rm", "nov6")


def test_outbound_masquerade_v6(d, v6net, peer):
    out = run(d, "--network", v6net, "busybox", "sh", "-c", "ping -6 -c1 -W2 fd99::2 >/dev/null && echo OUT6-OK").out
    assert "OUT6-OK" in out
    # An internal IPv6 network has no way out.
    d.docker("network", "create", "--internal", "--ipv6", "--subnet", "fd00:7::/64", "in6")
    try:
        r = run(d, "--network", "in6", "busybox", "ping", "-6", "-c1", "-W1", "fd99::2", check=False)
        assert r.returncode != 0
    finally:
        d.docker("network", "rm", "in6")


def test_published_port_over_ipv6(d, v6net, peer):
    cid = httpd(d, "--network", v6net, "-p", "18600:80")
    try:
        ports = json.loads(inspect(d, cid, "{{json .NetworkSettings.Ports}}"))
        assert ports["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": "18600"}, {"HostIp": "::", "HostPort": "18600"}]
        listed = d.docker("port", cid, "80").out.split("\n")
        assert "0.0.0.0:18600" in listed and "[::]:18600" in listed, listed
        from_peer = lambda *c, check=True: peer_run(peer, *c, check=check)
        assert fetch(from_peer, "http://[fd99::1]:18600/") == "hello from berth\n"
        host = lambda *c, check=True: d.netns_run(*c, check=check)
        assert fetch(host, "http://[fd00:1::1]:18600/") == "hello from berth\n"
        assert fetch(host, "http://127.0.0.1:18600/") == "hello from berth\n"
        # [::]:18600 is held: a second container cannot have it.
        again = d.docker("run", "-d", "--network", v6net, "-p", "[::]:18600:80", "busybox", "sleep", "5", check=False)
        assert again.returncode != 0 and "18600" in again.err, again.err
    finally:
        d.docker("rm", "-f", cid)
    # An IPv6-only binding on an IPv6 network.
    cid = httpd(d, "--network", v6net, "-p", "[::]:18601:80")
    try:
        assert json.loads(inspect(d, cid, "{{json .NetworkSettings.Ports}}"))["80/tcp"] == [
            {"HostIp": "::", "HostPort": "18601"}]
        assert fetch(lambda *c, check=True: peer_run(peer, *c, check=check), "http://[fd99::1]:18601/") == \
            "hello from berth\n"
    finally:
        d.docker("rm", "-f", cid)
    rules = d.netns_run("nft", "list", "table", "ip6", "berth", check=False)
    assert rules.returncode == 0 and "18601" not in rules.out


def test_default_bridge_ipv6(make_daemon, fixtures):
    d = make_daemon(args=("--ipv6", "--fixed-cidr-v6", "fd00:d0c::/64"))
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    net = json.loads(d.docker("network", "inspect", "bridge").out)[0]
    assert net["EnableIPv6"] is True
    assert {"Subnet": "fd00:d0c::/64", "Gateway": "fd00:d0c::1"} in net["IPAM"]["Config"], net["IPAM"]
    cid = d.docker("run", "-d", "busybox", "sleep", "60").out.strip()
    s = json.loads(inspect(d, cid, "{{json .NetworkSettings}}"))
    assert s["GlobalIPv6Address"] == "fd00:d0c::2" and s["GlobalIPv6PrefixLen"] == 64
    assert s["IPv6Gateway"] == "fd00:d0c::1"
    assert "inet6 fd00:d0c::2/64" in d.docker("exec", cid, "ip", "-6", "addr", "show", "eth0").out
    d.docker("rm", "-f", cid)
    # Restarted without --ipv6, the default bridge is IPv4 only again.
    d.stop()
    d.extra_args = []
    d.start()
    net = json.loads(d.docker("network", "inspect", "bridge").out)[0]
    assert net["EnableIPv6"] is False and len(net["IPAM"]["Config"]) == 1
    # A bad value stops the daemon with the option's name.
    d.stop()
    d.extra_args = ["--ipv6", "--fixed-cidr-v6", "fd00:zz::/64"]
    with pytest.raises(RuntimeError) as err:
        d.start()
    assert "invalid fixed-cidr-v6" in str(err.value), err.value


def test_ip6tables_off_pools_and_bip6(make_daemon, fixtures):
    d = make_daemon(args=("--ip6tables=false", "--ipv6", "--bip6", "fd00:b1b::1/64",
                          "--fixed-cidr-v6", "fd00:b1b::100/120",
                          "--default-address-pool", "base=10.123.0.0/16,size=24",
                          "--default-address-pool", "base=fd00:ab::/56,size=64"))
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    bridge = json.loads(d.docker("network", "inspect", "bridge").out)[0]["IPAM"]["Config"]
    assert {"Subnet": "fd00:b1b::/64", "Gateway": "fd00:b1b::1", "IPRange": "fd00:b1b::100/120"} in bridge, bridge
    cid = d.docker("run", "-d", "busybox", "sleep", "30").out.strip()
    addr = ipaddress.ip_address(inspect(d, cid, "{{.NetworkSettings.GlobalIPv6Address}}"))
    assert addr in ipaddress.ip_network("fd00:b1b::100/120"), addr
    d.docker("rm", "-f", cid)
    # The IPv6 pool given, not the ULA one (the default bridge took 10.123.0.0/24).
    d.docker("network", "create", "--ipv6", "n8")
    cfg = json.loads(d.docker("network", "inspect", "n8").out)[0]["IPAM"]["Config"]
    assert [c["Subnet"] for c in cfg] == ["10.123.1.0/24", "fd00:ab::/64"], cfg
    cid = d.docker("run", "-d", "--network", "n8", "busybox", "sleep", "30").out.strip()
    assert inspect(d, cid, "{{.NetworkSettings.Networks.n8.GlobalIPv6Address}}") == "fd00:ab::2"
    # --ip6tables=false: IPv4 rules only.
    assert d.netns_run("nft", "list", "table", "ip6", "berth", check=False).returncode != 0
    assert d.netns_run("nft", "list", "table", "ip", "berth").returncode == 0
    d.docker("rm", "-f", cid)

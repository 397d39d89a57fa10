"""Plain containers on an attachable overlay of the one-node swarm, through
docker-py and the CLI: run and connect get the swarm's addresses, find each
other by name, and the network is free once they are gone.  The cluster
side (other nodes, workers) is tests/cluster/test_overlay_containers.py."""

import time

import docker
import pytest


@pytest.fixture(scope="module")
def client(daemon, busybox):
    return daemon.client("1.41")


def wait_for(cond, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


def test_run_and_connect_on_an_attachable_overlay(daemon, client):
    net = client.networks.create("ovl", driver="overlay", attachable=True,
                                 ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.40.0.0/24")]))
    closed = client.networks.create("ovl-closed", driver="overlay")
    web = client.containers.run("busybox", ["sh", "-c", "mkdir -p /w && hostname > /w/index.html && exec httpd -f -h /w"],
                                name="ovl-web", network="ovl", detach=True)
    probe = client.containers.run("busybox", ["sleep", "1000"], name="ovl-probe", detach=True)
    net.connect(probe, aliases=["prober"])
    web.reload()
    probe.reload()
    addr = web.attrs["NetworkSettings"]["Networks"]["ovl"]["IPAddress"]
    assert addr.startswith("10.40.0."), web.attrs["NetworkSettings"]["Networks"]
    assert web.attrs["NetworkSettings"]["Networks"]["ovl"]["IPAMConfig"]["IPv4Address"] == addr
    assert probe.attrs["NetworkSettings"]["Networks"]["ovl"]["IPAddress"].startswith("10.40.0.")
    # The connected one (its resolv.conf is the default bridge's) asks the
    # embedded DNS itself; one started on the network asks it by default.
    res = probe.exec_run(["nslookup", "ovl-web", "127.0.0.11"])
    assert addr in res.output.decode(), res.output
    res = probe.exec_run(["timeout", "5", "wget", "-qO-", "http://%s/" % addr])
    assert res.exit_code == 0 and res.output.decode().strip() == web.id[:12], res.output
    other = client.containers.run("busybox", ["sleep", "1000"], name="ovl-other", network="ovl", detach=True)
    res = other.exec_run(["timeout", "5", "wget", "-qO-", "http://ovl-web/"])
    assert res.exit_code == 0 and res.output.decode().strip() == web.id[:12], res.output
    net.reload()
    assert sorted(c.name for c in net.containers) == ["ovl-other", "ovl-probe", "ovl-web"]
    other.remove(force=True)

    # Not attachable: Docker's refusal from run and from connect.
    with pytest.raises(docker.errors.APIError) as err:
        client.containers.run("busybox", "true", network="ovl-closed", remove=True)
    assert "not manually attachable" in str(err.value)
    res = daemon.docker("network", "connect", "ovl-closed", "ovl-probe", check=False)
    assert res.returncode != 0 and "not manually attachable" in res.err, res.err
    # A network nobody has is still refused at create, as by dockerd.
    res = daemon.docker("create", "--network", "nosuch-net", "busybox", check=False)
    assert res.returncode != 0 and "network nosuch-net not found" in res.err, res.err

    # Stopped and started again: the same address.
    web.stop(timeout=1)
    web.start()
    web.reload()
    assert web.attrs["NetworkSettings"]["Networks"]["ovl"]["IPAddress"] == addr

    net.disconnect(probe)
    probe.remove(force=True)
    web.remove(force=True)
    assert wait_for(lambda: daemon.docker("network", "rm", "ovl", check=False).returncode == 0)
    closed.remove()

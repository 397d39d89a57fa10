"""Three managers through the docker CLI: init, join, node ls everywhere,
writes through any manager, tokens."""

import time

import pytest

from conftest import wait_for


def form(lab):
    """swarm init on h1, swarm join of the others as managers."""
    h1 = lab.hosts[0]
    h1.docker("swarm", "init", "--advertise-addr", h1.addr)
    token = h1.docker("swarm", "join-token", "-q", "manager").out.strip()
    for h in lab.hosts[1:]:
        res = h.docker("swarm", "join", "--token", token, "--advertise-addr", h.addr, h1.addr + ":2377")
        assert "This node joined a swarm as a manager." in res.out, res.out
    return token


def statuses(h):
    return sorted((n["Hostname"], n["ManagerStatus"]) for n in h.nodes())


def test_three_managers_see_each_other(make_lab):
    lab = make_lab(3)
    form(lab)
    want = [("h1", "Leader"), ("h2", "Reachable"), ("h3", "Reachable")]
    for h in lab.hosts:
        wait_for(lambda: statuses(h) == want, what="node ls on %s" % h.netns)
        info = h.info()
        assert info["LocalNodeState"] == "active"
        assert info["ControlAvailable"] is True
        assert info["Managers"] == 3 and info["Nodes"] == 3
        assert sorted(m["Addr"] for m in info["RemoteManagers"]) == ["10.77.0.%d:2377" % i for i in (1, 2, 3)]
    # One cluster: the same cluster ID everywhere.
    assert len({h.info()["Cluster"]["ID"] for h in lab.hosts}) == 1


def test_writes_through_a_follower_and_reads_everywhere(make_lab, fixtures):
    lab = make_lab(3)
    form(lab)
    h1, h2, h3 = lab.hosts
    # A write through a follower is forwarded to the leader and readable
    # on the follower as soon as the CLI returns.
    h2.docker("service", "create", "-d", "--no-resolve-image", "--name", "from-h2", "--replicas", "0",
              "busybox:latest", "sleep", "1000")
    assert "from-h2" in h2.docker("service", "ls", "--format", "{{.Name}}").out
    for h in (h1, h3):
        wait_for(lambda: "from-h2" in h.docker("service", "ls", "--format", "{{.Name}}").out,
                 what="service on %s" % h.netns)
    # A write refused by the leader is refused on the follower with the
    # leader's answer.
    res = h3.docker("service", "create", "-d", "--no-resolve-image", "--name", "from-h2", "--replicas", "0",
                    "busybox:latest", "sleep", "1000", check=False)
    assert res.returncode != 0 and "already" in res.err, res.err
    h3.docker("service", "scale", "-d", "from-h2=0")
    h3.docker("service", "rm", "from-h2")
    wait_for(lambda: h1.docker("service", "ls", "-q").out.strip() == "", what="service removed on h1")



def test_join_token_rotation_and_wrong_tokens(make_lab):
    lab = make_lab(3)
    h1, h2, h3 = lab.hosts
    h1.docker("swarm", "init", "--advertise-addr", h1.addr)
    old = h1.docker("swarm", "join-token", "-q", "manager").out.strip()
    assert old.startswith("SWMTKN-1-")
    h1.docker("swarm", "join-token", "--rotate", "manager")
    new = h1.docker("swarm", "join-token", "-q", "manager").out.strip()
    assert new != old and new.split("-")[2] == old.split("-")[2]  # same CA digest, new secret
    before = h2.info()["NodeID"]
    res = h2.docker("swarm", "join", "--token", old, h1.addr + ":2377", check=False)
    assert res.returncode != 0
    assert "A valid join token is necessary to join this cluster" in res.err, res.err
    # A refused join leaves the node as it was.
    assert h2.info()["NodeID"] == before and h2.info()["LocalNodeState"] == "active"
    # A token for another cluster: its digest does not match h1's root key.
    other = h3.docker("swarm", "join-token", "-q", "manager").out.strip()
    res = h2.docker("swarm", "join", "--token", other, h1.addr + ":2377", check=False)
    assert res.returncode != 0
    assert "remote CA does not match fingerprint. Expected: %s" % other.split("-")[2] in res.err, res.err
    # Nobody listening there.
    res = h2.docker("swarm", "join", "--token", new, "10.77.0.99:2377", check=False, timeout=60)
    assert res.returncode != 0 and "10.77.0.99:2377" in res.err, res.err
    h2.docker("swarm", "join", "--token", new, "--advertise-addr", h2.addr, h1.addr + ":2377")
    wait_for(lambda: statuses(h1) == [("h1", "Leader"), ("h2", "Reachable")], what="h2 joined")

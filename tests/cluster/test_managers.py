"""Three managers through the docker CLI: init, join, node ls everywhere,
writes through any manager, tokens."""

import os
import time

import pytest

from conftest import running_per_node, wait_for


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
    # A token for another cluster: its digest does not match h1's root CA
    # (shown in hex, as SwarmKit's message).
    other = h3.docker("swarm", "join-token", "-q", "manager").out.strip()
    res = h2.docker("swarm", "join", "--token", other, h1.addr + ":2377", check=False)
    assert res.returncode != 0
    assert "remote CA does not match fingerprint. Expected: %064x" % int(other.split("-")[2], 36) in res.err, res.err
    # Nobody listening there.
    res = h2.docker("swarm", "join", "--token", new, "10.77.0.99:2377", check=False, timeout=60)
    assert res.returncode != 0 and "10.77.0.99:2377" in res.err, res.err
    h2.docker("swarm", "join", "--token", new, "--advertise-addr", h2.addr, h1.addr + ":2377")
    wait_for(lambda: statuses(h1) == [("h1", "Leader"), ("h2", "Reachable")], what="h2 joined")


def test_leave_demote_promote_rm(make_lab):
    lab = make_lab(3)
    form(lab)
    h1, h2, h3 = lab.hosts
    formed = [("h1", "Leader"), ("h2", "Reachable"), ("h3", "Reachable")]
    # h3 counts the quorum from its own copy of the store, so wait until that
    # copy, too, has every manager reachable (the leader marks a manager it
    # has not heard from within an election timeout unreachable, as a loaded
    # machine sees right after a join, and h3 may not have the mark undone).
    for h in lab.hosts:
        wait_for(lambda: statuses(h) == formed, what="formed, seen from %s" % h.netns)
    # A manager does not leave without --force, with dockerd's words.
    res = h3.docker("swarm", "leave", check=False)
    assert res.returncode != 0
    assert ("You are attempting to leave the swarm on a node that is participating as a manager. The only way to "
            "restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. Use `--force` "
            "to suppress this message.") in res.err, res.err
    ids = {n["Hostname"]: n["ID"] for n in h1.nodes()}
    # Demote h3 (through a follower): it leaves raft, the others carry on.
    h2.docker("node", "demote", ids["h3"])
    wait_for(lambda: ("h3", "") in statuses(h1), what="h3 demoted")
    assert "Worker nodes can't be used to view or modify cluster state" in \
        wait_for(lambda: h3.docker("node", "ls", check=False).err or None, what="h3 refuses")
    assert h1.info()["Managers"] == 2
    h1.docker("service", "create", "--name", "two", "-d", "--no-resolve-image", "--replicas", "0", "busybox", "true")
    # Promote it back: added to raft again and caught up.
    h1.docker("node", "promote", ids["h3"])
    wait_for(lambda: ("h3", "Reachable") in statuses(h1), what="h3 promoted")
    wait_for(lambda: "two" in h3.docker("service", "ls", "--format", "{{.Name}}", check=False).out,
             what="h3 caught up")
    # Demote and remove: rm refuses a manager, then a live node without --force.
    res = h1.docker("node", "rm", ids["h3"], check=False)
    assert "is a cluster manager and is a member of the raft cluster" in res.err, res.err
    h1.docker("node", "demote", ids["h3"])
    wait_for(lambda: ("h3", "") in statuses(h1), what="h3 demoted again")
    res = h1.docker("node", "rm", ids["h3"], check=False)
    assert "is not down and can't be removed" in res.err, res.err
    h1.docker("node", "rm", "--force", ids["h3"])
    assert sorted(n["Hostname"] for n in h1.nodes()) == ["h1", "h2"]
    # Two managers: leaving would lose the quorum.
    res = h2.docker("swarm", "leave", check=False)
    assert "Removing this node leaves 1 managers out of 2. Without a Raft quorum your swarm will be inaccessible." \
        in res.err, res.err
    h2.docker("swarm", "leave", "--force")
    info = h2.info()
    assert info["LocalNodeState"] == "active" and info["Cluster"]["ID"] != h1.info()["Cluster"]["ID"]


def test_service_spreads_over_managers(make_lab, fixtures):
    lab = make_lab(3)
    form(lab)
    for h in lab.hosts:
        h.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    h1 = lab.hosts[0]
    h1.docker("service", "create", "-d", "--name", "spread", "--replicas", "6", "--stop-grace-period", "1s",
              "busybox", "sleep", "1000")

    per = wait_for(lambda: running_per_node(h1, "spread", 6), timeout=60, what="6 running tasks")
    assert sorted(per) == ["h1", "h2", "h3"], per
    # Each manager's agent runs the tasks placed on it.
    for h in lab.hosts:
        assert len(h.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=spread").out.split()) == \
            per["h%d" % h.index]


def test_join_refusals(make_lab):
    lab = make_lab(3)
    h1, h2, h3 = lab.hosts
    h1.docker("swarm", "init", "--advertise-addr", h1.addr)
    manager = h1.docker("swarm", "join-token", "-q", "manager").out.strip()
    worker = h1.docker("swarm", "join-token", "-q", "worker").out.strip()
    # A token whose secret is neither of the cluster's: refused, and the
    # node keeps its swarm.
    before = h2.info()["NodeID"]
    forged = worker[:-4] + ("aaaa" if not worker.endswith("aaaa") else "bbbb")
    res = h2.docker("swarm", "join", "--token", forged, h1.addr + ":2377", check=False)
    assert res.returncode != 0 and "A valid join token is necessary" in res.err, res.err
    assert h2.info()["NodeID"] == before
    # A node whose own swarm holds a service does not throw it away.
    h3.docker("service", "create", "-d", "--no-resolve-image", "--name", "mine", "--replicas", "0", "busybox", "true")
    res = h3.docker("swarm", "join", "--token", manager, h1.addr + ":2377", check=False)
    assert res.returncode != 0 and "holds services" in res.err, res.err
    # A joined node is part of a swarm: dockerd's 503.
    h2.docker("swarm", "join", "--token", manager, "--advertise-addr", h2.addr, h1.addr + ":2377")
    res = h2.docker("swarm", "join", "--token", manager, h1.addr + ":2377", check=False)
    assert "This node is already part of a swarm" in res.err, res.err
    # The node that ran init too.
    res = h1.docker("swarm", "join", "--token", manager, h2.addr + ":2377", check=False)
    assert "This node is already part of a swarm" in res.err, res.err


def test_join_with_an_address_the_leader_cannot_reach(make_lab):
    lab = make_lab(2)
    h1, h2 = lab.hosts
    h1.docker("swarm", "init", "--advertise-addr", h1.addr)
    token = h1.docker("swarm", "join-token", "-q", "manager").out.strip()
    res = h2.docker("swarm", "join", "--token", token, "--advertise-addr", "10.77.0.99", h1.addr + ":2377",
                    check=False, timeout=60)
    assert res.returncode != 0
    assert "could not connect to prospective new cluster member using its advertised address" in res.err, res.err
    # The node is back in a one-member swarm of its own, and can join properly.
    wait_for(lambda: h2.info()["LocalNodeState"] == "active", what="h2 active again")
    assert h2.info()["Cluster"]["ID"] != h1.info()["Cluster"]["ID"]
    h2.docker("swarm", "join", "--token", token, "--advertise-addr", h2.addr, h1.addr + ":2377")
    wait_for(lambda: statuses(h1) == [("h1", "Leader"), ("h2", "Reachable")], what="h2 joined")

"""Workers: nodes that join with the worker token, hold no raft state and
keep one session with a manager (node/swarm_worker.c, node/dispatcher.c)."""

import json
import os

from conftest import running_per_node, wait_for

WORKER_MSG = ("This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. "
              "Please run this command on a manager node or promote the current node to a manager.")


def form(lab, managers, heartbeat="1s"):
    """swarm init on h1 (a short heartbeat period keeps the tests quick),
    managers up to hN, workers after."""
    h1 = lab.hosts[0]
    h1.docker("swarm", "init", "--advertise-addr", h1.addr, "--dispatcher-heartbeat", heartbeat)
    mtoken = h1.docker("swarm", "join-token", "-q", "manager").out.strip()
    wtoken = h1.docker("swarm", "join-token", "-q", "worker").out.strip()
    for h in lab.hosts[1:managers]:
        h.docker("swarm", "join", "--token", mtoken, "--advertise-addr", h.addr, h1.addr + ":2377")
    for h in lab.hosts[managers:]:
        res = h.docker("swarm", "join", "--token", wtoken, "--advertise-addr", h.addr, h1.addr + ":2377")
        assert "This node joined a swarm as a worker." in res.out, res.out
    return wtoken


def node_states(h):
    return {n["Hostname"]: (n["Status"], n["ManagerStatus"]) for n in h.nodes()}


def task_containers(h, svc):
    return h.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=" + svc).out.split()


def test_worker_joins_runs_tasks_and_is_not_a_manager(make_lab, fixtures):
    lab = make_lab(2)
    h1, h2 = lab.hosts
    form(lab, managers=1)
    wait_for(lambda: node_states(h1) == {"h1": ("Ready", "Leader"), "h2": ("Ready", "")}, what="h2 a ready worker")
    info = h2.info()
    assert info["LocalNodeState"] == "active" and info["ControlAvailable"] is False, info
    assert info["NodeAddr"] == h2.addr, info
    assert [m["Addr"] for m in info["RemoteManagers"]] == [h1.addr + ":2377"], info
    assert info["NodeID"] in [n["ID"] for n in h1.nodes()]
    # A worker holds no raft state.
    assert not os.path.exists(os.path.join(h2.data_root, "swarm", "raft"))
    # The manager-only endpoints answer dockerd's 503 on a worker.
    for cmd in (["node", "ls"], ["service", "ls"], ["swarm", "join-token", "worker"], ["node", "inspect", "self"]):
        res = h2.docker(*cmd, check=False)
        assert res.returncode != 0 and WORKER_MSG in res.err, (cmd, res.err)
    res = h2.docker("swarm", "join", "--token", "SWMTKN-1-x-y", h1.addr + ":2377", check=False)
    assert "This node is already part of a swarm" in res.err, res.err
    # The heartbeat period the cluster spec sets.
    assert "Heartbeat Period: 1 second" in h1.docker("info").out

    for h in lab.hosts:
        h.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    h1.docker("service", "create", "-d", "--name", "spread", "--replicas", "4", "--stop-grace-period", "1s",
              "busybox", "sleep", "1000")
    per = wait_for(lambda: running_per_node(h1, "spread", 4), timeout=60, what="4 running tasks")
    assert sorted(per) == ["h1", "h2"], per
    assert len(task_containers(h2, "spread")) == per["h2"]
    # Scaling down reaches the worker: its containers go.
    h1.docker("service", "scale", "-d", "spread=1")
    wait_for(lambda: len(task_containers(h1, "spread")) + len(task_containers(h2, "spread")) == 1,
             what="scaled to 1")
    # Leave: the worker needs no --force, and its tasks go with it.
    h2.docker("swarm", "leave")
    wait_for(lambda: h2.info()["ControlAvailable"] is True, what="h2 a manager of its own again")
    assert task_containers(h2, "spread") == []

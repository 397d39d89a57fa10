"""Workers: nodes that join with the worker token, hold no raft state and
keep one session with a manager (node/swarm_worker.c, node/dispatcher.c)."""

import json
import os
import time

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
    assert info["RemoteManagers"][0]["NodeID"] == h1.info()["NodeID"], info
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


def five(make_lab, fixtures, replicas):
    """Three managers and two workers (h4, h5), busybox on each, a service
    of replicas spread over all five."""
    lab = make_lab(5)
    form(lab, managers=3)
    h1 = lab.hosts[0]
    want = {"h1": ("Ready", "Leader"), "h2": ("Ready", "Reachable"), "h3": ("Ready", "Reachable"),
            "h4": ("Ready", ""), "h5": ("Ready", "")}
    wait_for(lambda: node_states(h1) == want, what="3 managers and 2 workers ready")
    for h in lab.hosts:
        h.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    h1.docker("service", "create", "-d", "--name", "svc", "--replicas", str(replicas), "--stop-grace-period", "1s",
              "busybox", "sleep", "1000")
    per = wait_for(lambda: running_per_node(h1, "svc", replicas), timeout=60, what="%d running tasks" % replicas)
    # Both workers run tasks.  (That every manager gets some is part 1's
    # test_service_spreads_over_managers; a manager seen unreachable for a
    # moment as the service is placed gets none, which is not this file's
    # subject.)
    assert "h4" in per and "h5" in per, per
    return lab, per


def test_killed_worker_goes_down_and_its_tasks_move(make_lab, fixtures):
    lab, per = five(make_lab, fixtures, 10)
    h1, h4 = lab.hosts[0], lab.hosts[3]
    h4.kill9()
    # Down after the grace period (three 1 s heartbeats), with SwarmKit's message.
    wait_for(lambda: node_states(h1)["h4"][0] == "Down", what="h4 down")
    inspect = json.loads(h1.docker("node", "inspect", "h4").out)[0]
    assert inspect["Status"]["Message"] == "heartbeat failure", inspect["Status"]
    wait_for(lambda: "h4" not in (running_per_node(h1, "svc", 10) or {"h4": 0}), timeout=60,
             what="10 running again, none on h4")
    # Back: it stops what is no longer its own, and nothing runs twice.
    h4.start()
    wait_for(lambda: node_states(h1)["h4"][0] == "Ready", what="h4 ready again")
    wait_for(lambda: task_containers(h4, "svc") == [], what="h4's old tasks stopped")
    total = sum(len(task_containers(h, "svc")) for h in lab.hosts)
    assert total == 10, total


def test_four_hosts_killed_leader_service_back_at_eight(make_lab, fixtures):
    """Part 1's scenario with a worker: three managers and h4, eight
    replicas over the four; kill -9 of the leader's daemon leaves a leader
    taking writes, the service back at eight running tasks on the three
    others, and the old leader back as a follower running none of them."""
    lab = make_lab(4)
    form(lab, managers=3)
    h1, h2, h3, h4 = lab.hosts
    want = {"h1": ("Ready", "Leader"), "h2": ("Ready", "Reachable"), "h3": ("Ready", "Reachable"), "h4": ("Ready", "")}
    wait_for(lambda: node_states(h1) == want, what="3 managers and a worker ready")
    for h in lab.hosts:
        h.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    h1.docker("service", "create", "-d", "--name", "eight", "--replicas", "8", "--stop-grace-period", "1s",
              "busybox", "sleep", "1000")
    per = wait_for(lambda: running_per_node(h1, "eight", 8), timeout=60, what="8 running tasks")
    assert "h1" in per and "h4" in per, per
    h1.kill9()
    new = wait_for(lambda: h2.leader() not in (None, "h1") and h2.leader(), what="a new leader")
    follower = h3 if new == "h2" else h2
    follower.docker("service", "create", "-d", "--name", "after", "busybox", "sleep", "1000")
    wait_for(lambda: "h1" not in (running_per_node(follower, "eight", 8) or {"h1": 0}), timeout=60,
             what="8 running again, none on h1")
    h1.start()
    wait_for(lambda: h1.leader() == new, what="h1 back as a follower")
    wait_for(lambda: node_states(h2)["h1"] == ("Ready", "Reachable"), what="h1 reachable")
    wait_for(lambda: task_containers(h1, "eight") == [], what="h1's old tasks stopped")
    assert sum(len(task_containers(h, "eight")) for h in lab.hosts) == 8
    assert "after" in h1.docker("service", "ls", "--format", "{{.Name}}").out


def test_short_cut_of_a_worker_moves_nothing(make_lab, fixtures):
    lab, per = five(make_lab, fixtures, 10)
    h1, h5 = lab.hosts[0], lab.hosts[4]
    def on_h5():
        return sorted(h1.docker("service", "ps", "-q", "--filter", "node=h5", "--filter", "desired-state=running",
                                "svc").out.split())
    before = on_h5()
    h5.cut()
    time.sleep(1.5)   # half the grace period
    h5.heal()
    time.sleep(3.5)   # more than a grace period after the cut began: the session is back
    # (Only the worker's own tasks are this test's: a loaded lab may see a
    # manager unreachable for a moment, which is part 1's business.)
    assert node_states(h1)["h5"][0] == "Ready"
    assert on_h5() == before
    assert len(task_containers(h5, "svc")) == per["h5"]


def test_worker_moves_when_its_manager_dies(make_lab, fixtures):
    lab, per = five(make_lab, fixtures, 10)
    h1, h2, h4 = lab.hosts[0], lab.hosts[1], lab.hosts[3]
    # Every worker joined through h1: its death moves their sessions.
    assert h4.info()["RemoteManagers"][0]["Addr"] == h1.addr + ":2377"
    before = task_containers(h4, "svc")
    h1.kill9()
    wait_for(lambda: h2.leader() not in (None, "h1"), what="a new leader")
    # The worker stays Ready through the move and keeps its tasks.
    for _ in range(3):
        states = wait_for(lambda: node_states(h2), what="node ls")
        assert states["h4"][0] == "Ready", states
        time.sleep(1)
    # Its own containers are all still there (it may have been given some
    # of the dead h1's tasks by now, once h1 is Down).
    assert set(before) <= set(task_containers(h4, "svc")), (before, task_containers(h4, "svc"))
    assert h4.info()["RemoteManagers"][0]["Addr"] != h1.addr + ":2377"
    assert "h4" in wait_for(lambda: running_per_node(h2, "svc", 10), timeout=60, what="10 running")


def test_drain_and_pause_a_worker(make_lab, fixtures):
    lab = make_lab(3)
    form(lab, managers=1)
    h1, h2, h3 = lab.hosts
    wait_for(lambda: [s for s, _ in node_states(h1).values()] == ["Ready"] * 3, what="3 ready")
    for h in lab.hosts:
        h.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    h1.docker("service", "create", "-d", "--name", "svc", "--replicas", "6", "--stop-grace-period", "1s",
              "busybox", "sleep", "1000")
    per = wait_for(lambda: running_per_node(h1, "svc", 6), timeout=60, what="6 running")
    assert per.get("h2") and per.get("h3"), per
    # Pause: what runs stays, nothing new comes.
    h1.docker("node", "update", "--availability", "pause", "h2")
    kept = per["h2"]
    h1.docker("service", "scale", "-d", "svc=9")
    after = wait_for(lambda: running_per_node(h1, "svc", 9), timeout=60, what="9 running")
    assert after["h2"] == kept, after
    # Drain: the worker's tasks move off and its containers stop.
    h1.docker("node", "update", "--availability", "drain", "h2")
    drained = wait_for(lambda: running_per_node(h1, "svc", 9), timeout=60, what="9 running off h2")
    wait_for(lambda: "h2" not in (running_per_node(h1, "svc", 9) or {"h2": 1}), what="nothing on h2")
    wait_for(lambda: task_containers(h2, "svc") == [], what="h2's containers stopped")
    assert drained


def test_rm_of_a_dead_worker(make_lab):
    lab = make_lab(2)
    form(lab, managers=1)
    h1, h2 = lab.hosts
    wait_for(lambda: node_states(h1).get("h2", ("",))[0] == "Ready", what="h2 ready")
    # A live worker is not removed without --force (dockerd's words).
    res = h1.docker("node", "rm", "h2", check=False)
    assert res.returncode != 0 and "is not down and can't be removed" in res.err, res.err
    h2.kill9()
    wait_for(lambda: node_states(h1)["h2"][0] == "Down", what="h2 down")
    h1.docker("node", "rm", "h2")
    assert "h2" not in node_states(h1)


def test_promote_a_worker_and_demote_it(make_lab, fixtures):
    lab = make_lab(3)
    form(lab, managers=1)
    h1, h2, h3 = lab.hosts
    wait_for(lambda: node_states(h1) == {"h1": ("Ready", "Leader"), "h2": ("Ready", ""), "h3": ("Ready", "")},
             what="two workers")
    for h in lab.hosts:
        h.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    h1.docker("service", "create", "-d", "--name", "svc", "--replicas", "3", "--stop-grace-period", "1s",
              "busybox", "sleep", "1000")
    wait_for(lambda: running_per_node(h1, "svc", 3), timeout=60, what="3 running")
    before = task_containers(h2, "svc")
    id2 = h2.info()["NodeID"]
    # Promoted: it becomes a raft voter with the same node ID, catches up,
    # answers manager calls, and keeps its tasks.
    h1.docker("node", "promote", "h2")
    wait_for(lambda: node_states(h1)["h2"] == ("Ready", "Reachable"), what="h2 a manager")
    wait_for(lambda: "svc" in h2.docker("service", "ls", "--format", "{{.Name}}", check=False).out, what="h2 caught up")
    assert h2.info()["NodeID"] == id2 and h2.info()["ControlAvailable"] is True
    assert h1.info()["Managers"] == 2
    assert task_containers(h2, "svc") == before
    # A write through it.
    h2.docker("service", "scale", "-d", "svc=4")
    wait_for(lambda: running_per_node(h1, "svc", 4), timeout=60, what="4 running")
    # Demoted: out of raft, a worker again with a session, still running its tasks.
    h1.docker("node", "demote", "h2")
    wait_for(lambda: node_states(h1)["h2"] == ("Ready", ""), what="h2 a worker")
    wait_for(lambda: h2.info()["ControlAvailable"] is False, what="h2's store gone")
    assert not os.path.exists(os.path.join(h2.data_root, "swarm", "raft"))
    assert WORKER_MSG in h2.docker("node", "ls", check=False).err
    assert h1.info()["Managers"] == 1
    h1.docker("service", "scale", "-d", "svc=6")
    wait_for(lambda: running_per_node(h1, "svc", 6), timeout=60, what="6 running")
    wait_for(lambda: len(task_containers(h2, "svc")) == running_per_node(h1, "svc", 6).get("h2", 0),
             what="h2 runs what the store says")


def test_a_worker_certificate_cannot_call_manager_rpcs(make_lab, tmp_path):
    import sys
    lab = make_lab(2)
    form(lab, managers=1)
    h1, h2 = lab.hosts
    wait_for(lambda: node_states(h1).get("h2", ("",))[0] == "Ready", what="h2 ready")
    with open(os.path.join(h2.data_root, "swarm", "worker.json")) as f:
        state = json.load(f)
    assert oct(os.stat(os.path.join(h2.data_root, "swarm", "worker.json")).st_mode & 0o777) == "0o600"
    cert, key = str(tmp_path / "w.crt"), str(tmp_path / "w.key")
    for path, pem in ((cert, state["cert"]), (key, state["key"])):
        with open(path, "w") as f:
            f.write(pem)
    probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls_probe.py")

    def call(*args):
        res = h2.netns_run(sys.executable, probe, h1.addr + ":2377", "--cert", cert, "--key", key, *args, timeout=30)
        return json.loads(res.out)

    # Its own session is served: the certificate is the cluster's.
    r = call("--rpc", json.dumps({"op": "session", "version": ""}))
    assert r["answer"]["status"] == 0 and r["answer"]["assignments"]["node"][0]["ID"] == state["node"], r
    # What only managers may do is refused.
    r = call("--rpc", json.dumps({"op": "alive", "nodes": {state["node"]: 0}}))
    assert r["answer"]["status"] != 0 and "manager's certificate" in r["answer"]["error"], r
    r = call("--rpc", json.dumps({"op": "propose", "ops": []}))
    assert r["answer"]["status"] != 0 and "certificate" in r["answer"]["error"], r
    r = call("--raft")
    assert r["answer"] is None and r["closed"], r

"""Swarm mode on one node: every daemon is the manager of its own one-member
cluster from its first start; `docker swarm init` records the advertise
address and renews the tokens; the Swarm and Nodes endpoints answer as
dockerd/SwarmKit do (status codes, shapes, messages); the cluster store
outlives restarts and kill -9."""

import json
import platform
import re
import signal
import subprocess
import urllib.parse

import docker
import pytest

TOKEN = re.compile(r"^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$")
EXISTS = ('This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join '
          'another one.')
OUT_OF_SEQUENCE = "rpc error: code = Unknown desc = update out of sequence"


def info(d):
    return json.loads(d.docker("info", "--format", "{{json .Swarm}}").out)


def raw(d, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    status, _, out = d.request(method, "/v1.47" + path, body=data, headers=headers)
    return status, (json.loads(out) if out.strip() else None)


def node_id(d):
    return info(d)["NodeID"]


def init(d, *args):
    return d.docker("swarm", "init", "--advertise-addr", "127.0.0.1", *args)


def test_active_manager_right_after_start(make_daemon):
    d = make_daemon()
    sw = info(d)
    assert sw["LocalNodeState"] == "active"
    assert sw["ControlAvailable"] is True
    assert re.match(r"^[0-9a-z]{25}$", sw["NodeID"])
    assert sw["Nodes"] == 1 and sw["Managers"] == 1
    assert sw["Error"] == ""
    assert sw["NodeAddr"] == "127.0.0.1"
    assert sw["RemoteManagers"] == [{"NodeID": sw["NodeID"], "Addr": "127.0.0.1:2377"}]
    cl = sw["Cluster"]
    assert re.match(r"^[0-9a-z]{25}$", cl["ID"]) and cl["ID"] != sw["NodeID"]
    assert "JoinTokens" not in cl
    assert cl["DefaultAddrPool"] == ["10.0.0.0/8"] and cl["SubnetSize"] == 24 and cl["DataPathPort"] == 4789
    assert cl["Spec"] == {
        "Name": "default", "Labels": {},
        "Orchestration": {"TaskHistoryRetentionLimit": 5},
        "Raft": {"SnapshotInterval": 10000, "KeepOldSnapshots": 0, "LogEntriesForSlowFollowers": 500,
                 "ElectionTick": 10, "HeartbeatTick": 1},
        "Dispatcher": {"HeartbeatPeriod": 5000000000},
        "CAConfig": {"NodeCertExpiry": 7776000000000000},
        "TaskDefaults": {},
        "EncryptionConfig": {"AutoLockManagers": False},
    }
    text = d.docker("info").out
    assert "Swarm: active" in text
    assert "Is Manager: true" in text
    assert "Managers: 1" in text and "Nodes: 1" in text
    assert "Node Address: 127.0.0.1" in text
    for method in ("GET", "HEAD"):
        _, headers, _ = d.request(method, "/_ping")
        assert headers["Swarm"] == "active/manager"


def test_swarm_inspect_shape(make_daemon):
    d = make_daemon()
    status, sw = raw(d, "GET", "/swarm")
    assert status == 200
    assert list(sw) == ["ID", "Version", "CreatedAt", "UpdatedAt", "Spec", "TLSInfo", "RootRotationInProgress",
                        "DefaultAddrPool", "SubnetSize", "DataPathPort", "JoinTokens"]
    assert sw["Version"]["Index"] > 0
    # The cluster's root CA, made with the cluster: docker swarm ca prints it.
    tls = sw["TLSInfo"]
    assert sorted(tls) == ["CertIssuerPublicKey", "CertIssuerSubject", "TrustRoot"]
    assert tls["TrustRoot"].startswith("-----BEGIN CERTIFICATE-----\n")
    assert d.docker("swarm", "ca").out.strip() == tls["TrustRoot"].strip()
    assert sw["RootRotationInProgress"] is False
    tokens = sw["JoinTokens"]
    assert TOKEN.match(tokens["Worker"]) and TOKEN.match(tokens["Manager"])
    assert tokens["Worker"] != tokens["Manager"]
    assert tokens["Worker"][:60] == tokens["Manager"][:60]  # one cluster root, one digest part
    # docker-py reads the same object.
    c = d.client()
    c.swarm.reload()
    assert c.swarm.id == sw["ID"]
    assert c.swarm.attrs["JoinTokens"] == tokens


def test_init_prints_join_command_and_refuses_a_second(make_daemon):
    d = make_daemon()
    before = raw(d, "GET", "/swarm")[1]
    # Without an address the system's only one is used; a namespace with
    # only a loopback has none, and dockerd says so.
    res = d.docker("swarm", "init", check=False)
    assert res.returncode != 0
    assert "could not find the system's IP address - specify one with --advertise-addr" in res.err
    res = d.docker("swarm", "init", "--advertise-addr", "256.1.1.1", check=False)
    assert ("advertise address must be a non-zero IP address or network interface (with optional port number)"
            in res.err)

    nid = node_id(d)
    out = init(d).out
    assert "Swarm initialized: current node (%s) is now a manager." % nid in out
    m = re.search(r"docker swarm join --token (\S+) (\S+)", out)
    assert m, out
    assert TOKEN.match(m.group(1))
    assert m.group(2) == "127.0.0.1:2377"
    assert "To add a manager to this swarm, run 'docker swarm join-token manager'" in out
    after = raw(d, "GET", "/swarm")[1]
    # The cluster is the same one; init renewed its tokens.
    assert after["ID"] == before["ID"]
    assert after["JoinTokens"]["Worker"] == m.group(1) != before["JoinTokens"]["Worker"]
    assert after["JoinTokens"]["Manager"] != before["JoinTokens"]["Manager"]
    assert info(d)["NodeAddr"] == "127.0.0.1"

    res = d.docker("swarm", "init", "--advertise-addr", "127.0.0.1", check=False)
    assert res.returncode != 0
    assert "Error response from daemon: " + EXISTS in res.err
    status, body = raw(d, "POST", "/swarm/init", {"ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "127.0.0.1"})
    assert (status, body["message"]) == (503, EXISTS)
    status, body = raw(d, "POST", "/swarm/join", {"ListenAddr": "0.0.0.0:2377", "RemoteAddrs": ["10.0.0.1:2377"],
                                                  "JoinToken": m.group(1)})
    assert (status, body["message"]) == (503, EXISTS)

    # --force-new-cluster on a one-member cluster keeps it and its tokens;
    # an interface name resolves to its address.
    d.docker("swarm", "init", "--force-new-cluster", "--advertise-addr", "lo:4000")
    sw = raw(d, "GET", "/swarm")[1]
    assert sw["ID"] == before["ID"]
    assert sw["JoinTokens"] == after["JoinTokens"]
    node = d.client().nodes.get(nid)
    assert node.attrs["ManagerStatus"]["Addr"] == "127.0.0.1:4000"
    assert node.attrs["Status"]["Addr"] == "127.0.0.1"


def test_init_request_validation(make_daemon):
    d = make_daemon()
    cases = [
        ({}, 400, 'invalid ListenAddr "": invalid empty address'),
        ({"ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "127.0.0.1", "Spec": {"Name": "other"}}, 400,
         'swarm spec must be named "default"'),
        ({"ListenAddr": "nonsense-if:2377", "AdvertiseAddr": "127.0.0.1"}, 400,
         "listen address must be an IP address or network interface (with optional port number)"),
        ({"ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "127.0.0.1", "DataPathPort": 80}, 500,
         "Datapath port number is not in valid range (1024-49151) : 80"),
        ({"ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "127.0.0.1", "DefaultAddrPool": ["10.20.0.0/16"],
          "SubnetSize": 30}, 500, "subnet size is out of range: 30"),
        ({"ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "127.0.0.1", "DefaultAddrPool": ["10.20.0.0/16"],
          "SubnetSize": 12}, 500, 'invalid CIDR: "10.20.0.0/16". Subnet size is too small for pool: 12'),
        ({"ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "127.0.0.1",
          "Spec": {"CAConfig": {"NodeCertExpiry": 60000000000}}}, 500,
         "error updating cluster settings: rpc error: code = InvalidArgument desc = minimum certificate expiry "
         "time is: 1h0m0s"),
    ]
    for body, status, message in cases:
        got, resp = raw(d, "POST", "/swarm/init", body)
        assert (got, resp["message"]) == (status, message), body
    # None of them initialized anything.
    got, resp = raw(d, "POST", "/swarm/init", {
        "ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "127.0.0.1", "DataPathPort": 7789,
        "DefaultAddrPool": ["10.20.0.0/16"], "SubnetSize": 26, "Spec": {"Orchestration": {
            "TaskHistoryRetentionLimit": 2}}})
    assert got == 200 and resp == node_id(d)
    sw = raw(d, "GET", "/swarm")[1]
    assert sw["DataPathPort"] == 7789
    assert sw["DefaultAddrPool"] == ["10.20.0.0/16"] and sw["SubnetSize"] == 26
    # init merges: what the request leaves out keeps its default.
    assert sw["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"] == 2
    assert sw["Spec"]["Raft"]["SnapshotInterval"] == 10000


def test_join_token_and_rotate(make_daemon):
    d = make_daemon()
    init(d)
    out = d.docker("swarm", "join-token", "worker").out
    worker = raw(d, "GET", "/swarm")[1]["JoinTokens"]["Worker"]
    assert "To add a worker to this swarm, run the following command:" in out
    assert "docker swarm join --token %s 127.0.0.1:2377" % worker in out
    manager = d.docker("swarm", "join-token", "-q", "manager").out.strip()
    assert TOKEN.match(manager) and manager != worker

    out = d.docker("swarm", "join-token", "--rotate", "worker").out
    assert "Successfully rotated worker join token." in out
    tokens = raw(d, "GET", "/swarm")[1]["JoinTokens"]
    assert tokens["Worker"] != worker and tokens["Worker"][:60] == worker[:60]
    assert tokens["Manager"] == manager
    assert tokens["Worker"] in out

    new_manager = d.docker("swarm", "join-token", "-q", "--rotate", "manager").out.strip()
    assert new_manager != manager and TOKEN.match(new_manager)
    assert raw(d, "GET", "/swarm")[1]["JoinTokens"]["Worker"] == tokens["Worker"]


def test_swarm_update(make_daemon):
    d = make_daemon()
    init(d)
    v0 = raw(d, "GET", "/swarm")[1]["Version"]["Index"]
    d.docker("swarm", "update", "--task-history-limit", "3")
    sw = raw(d, "GET", "/swarm")[1]
    assert sw["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"] == 3
    assert sw["Version"]["Index"] > v0
    assert sw["UpdatedAt"] >= sw["CreatedAt"]
    assert info(d)["Cluster"]["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"] == 3
    assert "Task History Retention Limit: 3" in d.docker("info").out

    # A stale version is refused as SwarmKit does.
    status, body = raw(d, "POST", "/swarm/update?version=%d" % v0, sw["Spec"])
    assert (status, body["message"]) == (500, OUT_OF_SEQUENCE)
    status, body = raw(d, "POST", "/swarm/update?version=abc", sw["Spec"])
    assert status == 400
    assert body["message"] == "invalid swarm version 'abc': strconv.ParseUint: parsing \"abc\": invalid syntax"
    v = sw["Version"]["Index"]
    status, body = raw(d, "POST", "/swarm/update?version=%d&rotateWorkerToken=maybe" % v, sw["Spec"])
    assert (status, body["message"]) == (400, "invalid value for rotateWorkerToken: maybe")
    spec = dict(sw["Spec"], Name="other")
    status, body = raw(d, "POST", "/swarm/update?version=%d" % v, spec)
    assert (status, body["message"]) == (400, 'swarm spec must be named "default"')
    spec = dict(sw["Spec"], CAConfig={"NodeCertExpiry": 1000})
    status, body = raw(d, "POST", "/swarm/update?version=%d" % v, spec)
    assert (status, body["message"]) == (
        400, "rpc error: code = InvalidArgument desc = minimum certificate expiry time is: 1h0m0s")
    spec = dict(sw["Spec"], EncryptionConfig={"AutoLockManagers": "yes"})
    status, body = raw(d, "POST", "/swarm/update?version=%d" % v, spec)
    assert status == 400

    # The spec is taken whole, as dockerd takes it: left-out fields are zero.
    status, body = raw(d, "POST", "/swarm/update?version=%d&rotateManagerToken=true" % v,
                       {"Labels": {"env": "test"}})
    assert status == 200 and body is None
    sw2 = raw(d, "GET", "/swarm")[1]
    assert sw2["Spec"]["Labels"] == {"env": "test"}
    assert sw2["Spec"]["Name"] == "default"
    assert sw2["Spec"]["Orchestration"] == {"TaskHistoryRetentionLimit": 0}
    assert sw2["Spec"]["Raft"] == {"KeepOldSnapshots": 0, "ElectionTick": 0, "HeartbeatTick": 0}
    assert sw2["Spec"]["Dispatcher"] == {} and sw2["Spec"]["CAConfig"] == {}
    assert sw2["JoinTokens"]["Manager"] != sw["JoinTokens"]["Manager"]
    assert sw2["JoinTokens"]["Worker"] == sw["JoinTokens"]["Worker"]

    # docker-py's update path.
    c = d.client()
    c.swarm.reload()
    c.swarm.update(task_history_retention_limit=7, snapshot_interval=5000, rotate_worker_token=True)
    c.swarm.reload()
    assert c.swarm.attrs["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"] == 7
    assert c.swarm.attrs["Spec"]["Raft"]["SnapshotInterval"] == 5000
    assert c.swarm.attrs["JoinTokens"]["Worker"] != sw2["JoinTokens"]["Worker"]


def test_node_ls_and_inspect(make_daemon):
    d = make_daemon()
    init(d)
    nid = node_id(d)
    lines = d.docker("node", "ls").out.splitlines()
    assert lines[0].split() == ["ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER", "STATUS", "ENGINE", "VERSION"]
    assert len(lines) == 2
    row = lines[1].split()
    assert row[:2] == [nid, "*"]
    assert row[3:6] == ["Ready", "Active", "Leader"]
    host = row[2]

    node = json.loads(d.docker("node", "inspect", "self").out)[0]
    assert list(node) == ["ID", "Version", "CreatedAt", "UpdatedAt", "Spec", "Description", "Status",
                          "ManagerStatus"]
    assert node["ID"] == nid
    assert node["Spec"] == {"Labels": {}, "Role": "manager", "Availability": "active"}
    desc = node["Description"]
    assert desc["Hostname"] == host
    assert desc["Platform"] == {"Architecture": platform.machine(), "OS": "linux"}
    assert desc["Resources"]["NanoCPUs"] % 1000000000 == 0 and desc["Resources"]["MemoryBytes"] > 0
    assert desc["Engine"]["EngineVersion"] == d.docker("version", "--format", "{{.Server.Version}}").out.strip()
    assert {"Type": "Volume", "Name": "local"} in desc["Engine"]["Plugins"]
    assert node["Status"] == {"State": "ready", "Addr": "127.0.0.1"}
    assert node["ManagerStatus"] == {"Leader": True, "Reachability": "reachable", "Addr": "127.0.0.1:2377"}

    # Lookups: ID, hostname, ID prefix; unknown and ambiguous names.
    for ref in (nid, host, nid[:5]):
        status, got = raw(d, "GET", "/nodes/" + ref)
        assert status == 200 and got["ID"] == nid, ref
    status, got = raw(d, "GET", "/nodes/nosuchnode")
    assert (status, got["message"]) == (404, "node nosuchnode not found")

    def ls(filters):
        status, got = raw(d, "GET", "/nodes?filters=" + urllib.parse.quote(json.dumps(filters)))
        return status, got

    assert [n["ID"] for n in ls({"role": ["manager"]})[1]] == [nid]
    assert ls({"role": ["worker"]})[1] == []
    assert [n["ID"] for n in ls({"name": [host[:2]]})[1]] == [nid]
    assert ls({"id": ["zzzz"]})[1] == []
    assert [n["ID"] for n in ls({"membership": ["accepted"]})[1]] == [nid]
    assert ls({"membership": ["pending"]})[1] == []
    assert ls({"role": ["boss"]}) == (500, {"message": "Invalid role filter: 'boss'"})
    assert ls({"colour": ["red"]}) == (400, {"message": "invalid filter 'colour'"})
    assert d.docker("node", "ls", "-q", "--filter", "role=manager").out.split() == [nid]

    # docker-py
    c = d.client()
    nodes = c.nodes.list()
    assert [n.id for n in nodes] == [nid]
    assert c.nodes.get(nid).attrs["Spec"]["Role"] == "manager"


def test_node_update(make_daemon):
    d = make_daemon()
    nid = node_id(d)
    # The CLI resolves "self" only for inspect and ps, as with dockerd.
    d.docker("node", "update", "--availability", "drain", "--label-add", "a=b", nid)
    node = json.loads(d.docker("node", "inspect", "self").out)[0]
    assert node["Spec"] == {"Labels": {"a": "b"}, "Role": "manager", "Availability": "drain"}
    assert "Drain" in d.docker("node", "ls").out
    assert d.docker("node", "ls", "-q", "--filter", "node.label=a=b").out.split() == [nid]
    assert d.docker("node", "ls", "-q", "--filter", "node.label=a=c").out.split() == []
    v = node["Version"]["Index"]

    # A stale version is refused.
    status, body = raw(d, "POST", "/nodes/%s/update?version=%d" % (nid, v - 1),
                       {"Role": "manager", "Availability": "active"})
    assert (status, body["message"]) == (500, OUT_OF_SEQUENCE)
    status, body = raw(d, "POST", "/nodes/%s/update" % nid, {"Role": "manager", "Availability": "active"})
    assert status == 400
    assert body["message"] == "invalid node version '': strconv.ParseUint: parsing \"\": invalid syntax"
    status, body = raw(d, "POST", "/nodes/%s/update?version=%d" % (nid, v), {"Role": "boss", "Availability": "active"})
    assert (status, body["message"]) == (400, 'invalid Role: "boss"')
    status, body = raw(d, "POST", "/nodes/%s/update?version=%d" % (nid, v), {"Role": "manager", "Availability": "x"})
    assert (status, body["message"]) == (400, 'invalid Availability: "x"')
    status, body = raw(d, "POST", "/nodes/nosuch/update?version=%d" % v, {"Role": "manager", "Availability": "active"})
    assert (status, body["message"]) == (404, "node nosuch not found")

    # The only manager cannot be demoted.
    res = d.docker("node", "demote", nid, check=False)
    assert res.returncode != 0
    assert ("rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm"
            in res.err)

    # docker-py, current version
    c = d.client()
    n = c.nodes.get(nid)
    assert n.update({"Availability": "pause", "Role": "manager", "Labels": {"x": "1"}}) is True
    n.reload()
    assert n.attrs["Spec"] == {"Labels": {"x": "1"}, "Role": "manager", "Availability": "pause"}
    with pytest.raises(docker.errors.APIError) as err:
        c.api.update_node(nid, v, {"Availability": "active", "Role": "manager"})
    assert err.value.response.status_code == 500
    assert OUT_OF_SEQUENCE in str(err.value)


def test_node_rm_self_refused(make_daemon):
    d = make_daemon()
    nid = node_id(d)
    want = ("rpc error: code = FailedPrecondition desc = node %s is a cluster manager and is a member of the raft "
            "cluster. It must be demoted to worker before removal" % nid)
    for args in (("node", "rm", nid), ("node", "rm", "--force", nid)):
        res = d.docker(*args, check=False)
        assert res.returncode != 0
        assert want in res.err
    status, body = raw(d, "DELETE", "/nodes/%s?force=1" % nid)
    assert (status, body["message"]) == (400, want)
    assert info(d)["Nodes"] == 1


def test_leave(make_daemon):
    d = make_daemon()
    init(d)
    before = info(d)
    res = d.docker("swarm", "leave", check=False)
    assert res.returncode != 0
    assert ("You are attempting to leave the swarm on a node that is participating as a manager. Removing the last "
            "manager erases all current state of the swarm. Use `--force` to ignore this message." in res.err)
    status, body = raw(d, "POST", "/swarm/leave")
    assert status == 503
    assert body["message"].endswith("Use `--force` to ignore this message. ")

    out = d.docker("swarm", "leave", "--force").out
    assert "Node left the swarm." in out
    after = info(d)
    assert after["LocalNodeState"] == "active" and after["ControlAvailable"] is True
    assert after["NodeID"] != before["NodeID"]
    assert after["Cluster"]["ID"] != before["Cluster"]["ID"]
    assert after["Nodes"] == 1
    # A fresh cluster: not initialized, default spec, fresh tokens.
    out = init(d).out
    assert "current node (%s)" % after["NodeID"] in out
    status, node = raw(d, "GET", "/nodes/" + before["NodeID"])
    assert status == 404


def test_unlock_and_join_endpoints(make_daemon):
    d = make_daemon()
    assert raw(d, "GET", "/swarm/unlockkey") == (200, {"UnlockKey": ""})
    assert raw(d, "POST", "/swarm/unlock", {"UnlockKey": "SWMKEY-1-x"}) == (409, {"message": "swarm is not locked"})
    res = d.docker("swarm", "unlock-key", check=False)
    assert res.returncode != 0 and "no unlock key is set" in res.err
    status, body = raw(d, "POST", "/swarm/join", {"ListenAddr": "0.0.0.0:2377", "RemoteAddrs": ["10.9.9.9:2377"],
                                                  "JoinToken": "SWMTKN-1-x"})
    # A malformed token is refused before anything is contacted (joining
    # itself is tested in tests/cluster).
    assert status == 400 and body["message"] == "invalid join token", body
    status, body = raw(d, "POST", "/swarm/init", {"ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "127.0.0.1",
                                                  "AutoLockManagers": True})
    assert status == 200   # autolock itself: tests/integration/test_secrets.py
    assert raw(d, "GET", "/swarm/unlockkey")[1]["UnlockKey"].startswith("SWMKEY-1-")


def _identity(d):
    sw = info(d)
    node = json.loads(d.docker("node", "inspect", "self").out)[0]
    return sw["NodeID"], sw["Cluster"]["ID"], node["Spec"]["Labels"], sw["Cluster"]["Spec"]


def test_state_survives_restart_and_kill(make_daemon):
    d = make_daemon()
    init(d)
    nid = node_id(d)
    d.docker("swarm", "update", "--task-history-limit", "4")
    d.docker("node", "update", "--label-add", "keep=yes", nid)
    first = _identity(d)
    assert first[2] == {"keep": "yes"}

    assert d.stop() == 0
    d.start()
    assert _identity(d) == first
    # Initialized is remembered too.
    res = d.docker("swarm", "init", "--advertise-addr", "127.0.0.1", check=False)
    assert EXISTS in res.err
    d.docker("node", "update", "--label-add", "more=1", nid)

    d.stop(sig=signal.SIGKILL)
    d.start()
    nid2, cid2, labels2, spec2 = _identity(d)
    assert (nid2, cid2, spec2) == (first[0], first[1], first[3])
    assert labels2 == {"keep": "yes", "more": "1"}
    assert info(d)["NodeAddr"] == "127.0.0.1"
    assert EXISTS in d.docker("swarm", "init", "--advertise-addr", "127.0.0.1", check=False).err


def test_store_that_cannot_start(make_daemon):
    """Something else on 127.0.0.1:2377: the daemon runs on, its swarm in
    error (as dockerd's), and says why."""
    d = make_daemon(start=False)
    subprocess.run(["ip", "netns", "add", d.netns], check=True)
    subprocess.run(["ip", "-n", d.netns, "link", "set", "lo", "up"], check=True)
    holder = subprocess.Popen(["nsenter", "--net=/run/netns/" + d.netns, "/usr/bin/python3", "-c",
                               "import socket, sys, time\n"
                               "s = socket.socket(); s.bind(('127.0.0.1', 2377)); s.listen()\n"
                               "print('ok', flush=True); time.sleep(120)"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"ok"
        d.start()
        sw = info(d)
        assert sw["LocalNodeState"] == "error" and sw["ControlAvailable"] is False
        assert "could not open the cluster store" in sw["Error"]
        assert "Swarm: error" in d.docker("info").out
        _, headers, _ = d.request("GET", "/_ping")
        assert headers["Swarm"] == "error"
        status, body = raw(d, "GET", "/nodes")
        assert status == 503 and "its cluster store could not start" in body["message"]
        # Leaving without --force would erase a cluster that may only be
        # unable to bind its port.
        status, body = raw(d, "POST", "/swarm/leave")
        assert status == 503 and "Use `--force` to suppress this message." in body["message"]
        d.docker("ps")  # the rest of the daemon works
    finally:
        holder.kill()
        holder.wait()
    # With the port free again, leave --force starts a fresh swarm.
    d.docker("swarm", "leave", "--force")
    sw = info(d)
    assert sw["LocalNodeState"] == "active" and sw["Nodes"] == 1

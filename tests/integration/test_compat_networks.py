"""Network API details existing clients depend on (issue 17): the scope of
GET /networks/{id} and IPAM auxiliary addresses."""

import json

import docker
import pytest


def test_inspect_scope_narrows_the_lookup(daemon):
    daemon.docker("network", "create", "scoped")
    try:
        nid = daemon.json("GET", "/networks/scoped")["Id"]
        assert daemon.json("GET", "/networks/scoped?scope=local")["Id"] == nid
        for scope in ("swarm", "global", "bogus"):
            status, _, data = daemon.request("GET", "/networks/scoped?scope=" + scope)
            assert status == 404, data
            assert json.loads(data)["message"] == "network scoped not found"
        # docker-py's scope= asks the same (as swarm tooling does for overlays)
        client = daemon.client(version="1.47")
        with pytest.raises(docker.errors.NotFound, match="network scoped not found"):
            client.api.inspect_network("scoped", scope="swarm")
        assert client.api.inspect_network(nid, scope="local")["Name"] == "scoped"
        client.close()
    finally:
        daemon.docker("network", "rm", "scoped")


def test_auxiliary_addresses_reserved(daemon, busybox):
    daemon.docker("network", "create", "--subnet", "10.55.0.0/24", "--ip-range", "10.55.0.0/29",
                  "--aux-address", "router=10.55.0.2", "--aux-address", "far=10.55.0.200", "auxnet")
    made = []
    try:
        cfg = daemon.json("GET", "/networks/auxnet")["IPAM"]["Config"][0]
        assert cfg["AuxiliaryAddresses"] == {"router": "10.55.0.2", "far": "10.55.0.200"}
        # the first container skips the reserved address
        made.append(daemon.docker("run", "-d", "--network", "auxnet", busybox, "sleep", "1000").out.strip())
        ip = daemon.json("GET", "/containers/%s/json" % made[0])["NetworkSettings"]["Networks"]["auxnet"]["IPAddress"]
        assert ip == "10.55.0.3"
        # nor can it be asked for
        res = daemon.docker("run", "--rm", "--network", "auxnet", "--ip", "10.55.0.200", busybox, "true", check=False)
        assert res.returncode != 0 and "Address already in use" in res.err, res.err
    finally:
        for cid in made:
            daemon.docker("rm", "-f", cid)
        daemon.docker("network", "rm", "auxnet")


@pytest.mark.parametrize("aux, status, message", [
    ({"a": "10.56.1.1"}, 403, "auxiliary address: (a:10.56.1.1) must belong to the master pool: 10.56.0.0/24"),
    ({"a": "bogus"}, 400, "non parsable secondary ip address (a:bogus) passed for network auxbad"),
    ({"gw": "10.56.0.1"}, 500, "failed to allocate secondary ip address (gw:10.56.0.1): Address already in use"),
])
def test_auxiliary_addresses_refused(daemon, aux, status, message):
    body = json.dumps({"Name": "auxbad", "IPAM": {"Config": [{"Subnet": "10.56.0.0/24", "AuxiliaryAddresses": aux}]}})
    st, _, data = daemon.request("POST", "/networks/create", body=body, headers={"Content-Type": "application/json"})
    assert (st, json.loads(data)["message"]) == (status, message)
    assert daemon.request("GET", "/networks/auxbad")[0] == 404

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

"""The API across versions (issue 17): replies, request fields and defaults
follow the version the client asks for (api/versions.c), through docker-py's
version= and the CLI's DOCKER_API_VERSION, at 1.24, 1.41 and 1.47."""

import json
import os
import time
import urllib.parse

import pytest


@pytest.fixture(scope="module")
def image(busybox):
    return busybox


@pytest.fixture
def clients(daemon):
    made = {v: daemon.client(version=v) for v in ("1.24", "1.41", "1.47")}
    yield made
    for c in made.values():
        c.close()


def test_image_inspect_fields_by_version(clients, image):
    old, mid, new = (clients[v].api.inspect_image(image) for v in ("1.24", "1.41", "1.47"))
    for doc in (old, mid):
        assert doc["VirtualSize"] == doc["Size"]
        assert "Container" in doc and "ContainerConfig" in doc
    assert "VirtualSize" not in new and "Container" not in new and "ContainerConfig" not in new
    # the same through the images list
    assert all("VirtualSize" in i for i in clients["1.41"].api.images())
    assert not any("VirtualSize" in i for i in clients["1.47"].api.images())


def test_commit_records_container_config_for_old_clients(daemon, clients, image):
    c = clients["1.47"].containers.run(image, ["sh", "-c", "echo x > /f"], detach=True, network_mode="none")
    try:
        c.wait()
        img = c.commit(repository="verscommit", tag="v1")
        doc = clients["1.41"].api.inspect_image(img.id)
        assert doc["Container"] == c.id
        assert doc["ContainerConfig"]["Cmd"] == ["sh", "-c", "echo x > /f"]
    finally:
        c.remove(force=True)
        daemon.docker("rmi", "verscommit:v1", check=False)


def test_cli_with_docker_api_version(daemon, image):
    env = dict(os.environ, DOCKER_HOST="unix://" + daemon.sock, DOCKER_CONFIG=daemon.docker_config)
    import subprocess
    for version, has in (("1.41", True), ("1.47", False)):
        out = subprocess.run(["docker", "image", "inspect", image], env=dict(env, DOCKER_API_VERSION=version),
                             capture_output=True, check=True).stdout
        doc = json.loads(out)[0]
        assert ("VirtualSize" in doc) == has and ("ContainerConfig" in doc) == has


def test_ipc_default_by_version(clients, image):
    made = []
    try:
        for version, want in (("1.24", "shareable"), ("1.41", "private"), ("1.47", "private")):
            api = clients[version].api
            cid = api.create_container(image, ["true"], host_config=api.create_host_config(network_mode="none"))["Id"]
            made.append(cid)
            assert api.inspect_container(cid)["HostConfig"]["IpcMode"] == want, version
    finally:
        for cid in made:
            clients["1.47"].api.remove_container(cid, force=True)


def test_endpoint_aliases_and_dns_names_by_version(daemon, clients, image):
    daemon.docker("network", "create", "versnet")
    cid = daemon.docker("run", "-d", "--network", "versnet", "--network-alias", "web", image,
                        "sleep", "1000").out.strip()
    try:
        ep = {v: clients[v].api.inspect_container(cid)["NetworkSettings"]["Networks"]["versnet"]
              for v in ("1.41", "1.47")}
        assert ep["1.41"]["DNSNames"] is None
        assert ep["1.41"]["Aliases"] == ["web", cid[:12]]
        assert ep["1.47"]["Aliases"] == ["web"]
        assert cid[:12] in ep["1.47"]["DNSNames"]
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("network", "rm", "versnet")


def test_request_fields_by_version(daemon, clients, image):
    # system df's type is a 1.42 parameter: 1.41 gets everything
    status, _, data = daemon.request("GET", "/v1.41/system/df?type=volume")
    assert status == 200 and "Images" in json.loads(data) and "Containers" in json.loads(data)
    status, _, data = daemon.request("GET", "/v1.47/system/df?type=volume")
    assert status == 200 and "Images" not in json.loads(data)
    # stats one-shot came with 1.41: below it the parameter is not read
    cid = daemon.docker("run", "-d", "--network", "none", image, "sleep", "1000").out.strip()
    try:
        status, _, data = daemon.request("GET", "/v1.41/containers/%s/stats?stream=true&one-shot=true" % cid)
        assert status == 400
        status, _, data = daemon.request("GET", "/v1.40/containers/%s/stats?stream=false&one-shot=true" % cid)
        assert status == 200
    finally:
        daemon.docker("rm", "-f", cid)


def test_stop_and_restart_signal_from_1_42(daemon, image):
    # the container ends on USR1 with 7; SIGTERM it does not heed (pid 1)
    # /run is a tmpfs: empty at each start, so /run/ready is this run's
    cmd = ["sh", "-c", "trap 'exit 7' USR1; touch /run/ready; while :; do sleep 0.1; done"]
    cid = daemon.docker("run", "-d", "--network", "none", "--tmpfs", "/run", image, *cmd).out.strip()

    def trap_set():
        # the signal must not come before the trap: pid 1 ignores an unhandled USR1
        deadline = time.time() + 30
        while daemon.docker("exec", cid, "test", "-f", "/run/ready", check=False).returncode and time.time() < deadline:
            time.sleep(0.05)

    try:
        trap_set()
        daemon.docker("stop", "-s", "USR1", "-t", "30", cid)
        assert daemon.json("GET", "/containers/%s/json" % cid)["State"]["ExitCode"] == 7
        daemon.docker("start", cid)
        trap_set()
        daemon.docker("restart", "-s", "USR1", "-t", "30", cid)
        # the exit of the restart's stop, from its die event
        filters = json.dumps({"container": [cid], "event": ["die"]})
        status, _, data = daemon.request("GET", "/events?since=0&until=%d&filters=%s" % (
            int(time.time()) + 1, urllib.parse.quote(filters)))
        codes = [json.loads(l)["Actor"]["Attributes"]["exitCode"] for l in data.decode().splitlines() if l]
        assert codes == ["7", "7"], codes
        trap_set()
        # 1.41 did not know the parameter: the StopSignal, then the kill
        status, _, _ = daemon.request("POST", "/v1.41/containers/%s/stop?signal=USR1&t=1" % cid)
        assert status == 204
        assert daemon.json("GET", "/containers/%s/json" % cid)["State"]["ExitCode"] == 137
        daemon.docker("start", cid)
        trap_set()
        status, _, data = daemon.request("POST", "/v1.47/containers/%s/stop?signal=NOPE" % cid)
        assert (status, json.loads(data)["message"]) == (400, "Invalid signal: NOPE")
    finally:
        daemon.docker("rm", "-f", cid)

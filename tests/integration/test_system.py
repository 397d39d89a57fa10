"""/_ping, /version, /info, version prefixes and the error contract."""

import concurrent.futures
import json
import os
import platform


def test_docker_version(daemon):
    out = daemon.docker("version", "--format", "{{json .}}").out
    v = json.loads(out)
    server = v["Server"]
    assert server["ApiVersion"] == "1.47"
    assert server["MinAPIVersion"] == "1.24"
    assert server["Os"] == "linux"
    assert server["KernelVersion"] == platform.release()
    assert v["Client"]["ApiVersion"] == "1.47"  # negotiated down from the CLI's 1.50


def test_docker_info_reports_true_figures(daemon):
    info = json.loads(daemon.docker("info", "--format", "{{json .}}").out)
    assert info["NCPU"] == os.cpu_count()
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    assert abs(info["MemTotal"] - mem_kb * 1024) < 64 * 1024 * 1024
    assert info["KernelVersion"] == platform.release()
    assert info["DockerRootDir"] == daemon.data_root
    assert info["Driver"] in ("overlay2", "vfs")
    assert info["CgroupVersion"] in ("1", "2")
    assert info["OSType"] == "linux"
    # Cluster-first: every daemon is the manager of its own one-member swarm.
    assert info["Swarm"]["LocalNodeState"] == "active"
    assert info["Swarm"]["ControlAvailable"] is True
    assert info["Images"] == len(daemon.json("GET", "/images/json"))
    with open("/etc/os-release") as f:
        pretty = [l.split("=", 1)[1].strip().strip('"') for l in f if l.startswith("PRETTY_NAME=")][0]
    assert info["OperatingSystem"] == pretty


def test_ping_headers(daemon):
    for method in ("GET", "HEAD"):
        status, headers, body = daemon.request(method, "/_ping")
        assert status == 200
        assert headers["Api-Version"] == "1.47"
        assert headers["Ostype"] == "linux"
        assert headers["Docker-Experimental"] == "false"
        assert "Builder-Version" in headers
        assert headers["Swarm"] == "active/manager"
        assert "no-cache" in headers["Cache-Control"]
        assert body == (b"OK" if method == "GET" else b"")


def test_version_prefixes(daemon):
    for prefix in ("", "/v1.24", "/v1.40", "/v1.47"):
        status, _, body = daemon.request("GET", prefix + "/version")
        assert status == 200, (prefix, body)
    status, _, body = daemon.request("GET", "/v1.48/version")
    assert status == 400
    assert json.loads(body)["message"] == "client version 1.48 is too new. Maximum supported API version is 1.47"
    status, _, body = daemon.request("GET", "/v1.23/version")
    assert status == 400
    assert "client version 1.23 is too old. Minimum supported API version is 1.24" in json.loads(body)["message"]


def test_error_contract(daemon):
    status, headers, body = daemon.request("GET", "/no/such/route")
    assert status == 404 and json.loads(body) == {"message": "page not found"}
    assert headers["Content-Type"] == "application/json"
    status, _, body = daemon.request("POST", "/version")
    assert status == 405 and "message" in json.loads(body)
    status, _, body = daemon.request("GET", "/plugins")
    assert status == 501
    assert "not implemented" in json.loads(body)["message"]
    status, _, body = daemon.request("GET", '/images/json?filters={"dangling":')
    assert status == 400 and "invalid filter" in json.loads(body)["message"]
    status, _, body = daemon.request("GET", '/images/json?filters={"nope":["x"]}')
    assert status == 400 and json.loads(body)["message"] == "invalid filter 'nope'"


def test_request_bodies_are_bounded(daemon):
    big = b"{" + b" " * (5 << 20) + b"}"
    status, _, body = daemon.request("POST", "/auth", body=big, headers={"Content-Type": "application/json"})
    assert status == 413
    # the daemon is still there
    assert daemon.request("GET", "/_ping")[0] == 200


def test_garbage_does_not_crash(daemon):
    import socket
    for junk in (b"\x00\x01\x02garbage\r\n\r\n", b"GET /_ping HTTP/9.9\r\n\r\n",
                 b"POST /images/load HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
                 b"GET /" + b"a/" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(daemon.sock)
        s.sendall(junk)
        try:
            s.recv(4096)
        except OSError:
            pass
        s.close()
    assert daemon.request("GET", "/_ping")[0] == 200


def test_fifty_parallel_requests(daemon):
    paths = ["/_ping", "/version", "/info", "/images/json", "/v1.41/images/json"] * 10

    def one(path):
        status, _, body = daemon.request("GET", path)
        return status

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(one, paths))
    assert statuses == [200] * 50


def test_docker_py_version_and_info(daemon):
    c = daemon.client()
    assert c.version()["ApiVersion"] == "1.47"
    assert c.info()["ID"]
    assert c.ping() is True

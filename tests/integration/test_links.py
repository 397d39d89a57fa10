"""Legacy links (issue 17): --link name:alias on the default bridge (the
ALIAS_* variables and /etc/hosts lines dockerd makes), on a user network
an alias only the linking container resolves, HostConfig.Links in inspect,
link names in docker ps and DELETE /containers/{link}?link=1."""

import json
import os

import docker
import pytest


@pytest.fixture(scope="module")
def image(busybox):
    return busybox


@pytest.fixture
def cleanup(daemon):
    names = []
    yield names
    for n in names:
        daemon.docker("rm", "-f", n, check=False)


def ip_of(daemon, name, net="bridge"):
    return daemon.json("GET", "/containers/%s/json" % name)["NetworkSettings"]["Networks"][net]["IPAddress"]


def test_link_on_default_bridge(daemon, image, cleanup):
    cleanup += ["lk-db", "lk-web"]
    daemon.docker("run", "-d", "--name", "lk-db", "--hostname", "dbhost", "-e", "DBPASS=secret", "--expose", "5432",
                  "--expose", "8000-8002", image, "sleep", "1000")
    ip = ip_of(daemon, "lk-db")
    daemon.docker("run", "-d", "--name", "lk-web", "--link", "lk-db:my-db", image, "sleep", "1000")
    env = daemon.docker("exec", "lk-web", "env").out.splitlines()
    hostname = daemon.json("GET", "/containers/lk-web/json")["Config"]["Hostname"]
    assert env[:2] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + hostname]
    want = {
        "MY_DB_NAME=/lk-web/my-db",
        "MY_DB_PORT=tcp://%s:5432" % ip,
        "MY_DB_PORT_5432_TCP=tcp://%s:5432" % ip,
        "MY_DB_PORT_5432_TCP_ADDR=" + ip,
        "MY_DB_PORT_5432_TCP_PORT=5432",
        "MY_DB_PORT_5432_TCP_PROTO=tcp",
        "MY_DB_PORT_8000_TCP_START=tcp://%s:8000" % ip,
        "MY_DB_PORT_8000_TCP_END=tcp://%s:8002" % ip,
        "MY_DB_PORT_8000_TCP_PORT_START=8000",
        "MY_DB_PORT_8000_TCP_PORT_END=8002",
        "MY_DB_ENV_DBPASS=secret",
    }
    assert want <= set(env), env
    assert not any(v.startswith(("MY_DB_ENV_PATH=", "MY_DB_ENV_HOME=")) for v in env)
    hosts = daemon.docker("exec", "lk-web", "cat", "/etc/hosts").out.splitlines()
    assert "%s\tmy-db dbhost lk-db" % ip in hosts, hosts
    # the name reaches the child
    daemon.docker("exec", "lk-web", "ping", "-c", "1", "-W", "5", "my-db")
    # inspect's form and the child's extra name in docker ps
    assert daemon.json("GET", "/containers/lk-web/json")["HostConfig"]["Links"] == ["/lk-db:/lk-web/my-db"]
    names = daemon.docker("ps", "--no-trunc", "--filter", "name=lk-db", "--format", "{{.Names}}").out.strip()
    assert sorted(names.split(",")) == ["lk-db", "lk-web/my-db"]
    # docker rm --link removes the link, not a container
    daemon.docker("rm", "--link", "/lk-web/my-db")
    assert daemon.json("GET", "/containers/lk-web/json")["HostConfig"]["Links"] is None
    assert daemon.docker("ps", "--no-trunc", "--filter", "name=lk-db", "--format", "{{.Names}}").out.strip() == "lk-db"
    status, _, data = daemon.request("DELETE", "/containers/lk-db?link=1")
    assert (status, json.loads(data)["message"]) == (500, "Conflict, cannot remove the default link name of the container")


def test_link_without_alias_and_through_docker_py(daemon, image, cleanup):
    cleanup += ["lk2-db", "lk2-web"]
    client = daemon.client(version="1.47")
    client.containers.run(image, ["sleep", "1000"], name="lk2-db", detach=True)
    c = client.containers.run(image, ["sleep", "1000"], name="lk2-web", detach=True, links={"lk2-db": None})
    assert c.attrs["HostConfig"]["Links"] == ["/lk2-db:/lk2-web/lk2-db"]
    code, out = c.exec_run(["sh", "-c", "echo $LK2_DB_NAME; grep lk2-db /etc/hosts"])
    lines = out.decode().splitlines()
    assert lines[0] == "/lk2-web/lk2-db"
    # alias and name the same: the name is not repeated
    assert lines[1].split("\t")[1] == "lk2-db " + client.containers.get("lk2-db").attrs["Config"]["Hostname"]
    client.close()


def test_link_errors(daemon, image, cleanup):
    cleanup += ["lk3-db", "lk3-web"]
    res = daemon.docker("create", "--link", "lk3-nope:x", image, "true", check=False)
    assert res.returncode != 0 and "could not get container for lk3-nope" in res.err, res.err
    daemon.docker("create", "--name", "lk3-db", image, "sleep", "1000")
    daemon.docker("create", "--name", "lk3-web", "--link", "lk3-db:db", image, "true")
    res = daemon.docker("start", "lk3-web", check=False)
    assert res.returncode != 0
    assert "Cannot link to a non running container: /lk3-db AS /lk3-web/db" in res.err, res.err
    res = daemon.docker("create", "--network", "host", "--name", "lk3-h", image, "true")
    cleanup.append("lk3-h")
    res = daemon.docker("create", "--link", "lk3-h:h", image, "true", check=False)
    assert "conflicting options: host type networking can't be used with links" in res.err, res.err


def test_link_on_user_network_is_a_private_alias(daemon, image, cleanup):
    daemon.docker("network", "create", "lknet")
    cleanup += ["lk4-db", "lk4-web", "lk4-other"]
    try:
        daemon.docker("run", "-d", "--name", "lk4-db", "--network", "lknet", image, "sleep", "1000")
        ip = ip_of(daemon, "lk4-db", "lknet")
        daemon.docker("run", "-d", "--name", "lk4-web", "--network", "lknet", "--link", "lk4-db:thedb", image,
                      "sleep", "1000")
        out = daemon.docker("exec", "lk4-web", "nslookup", "thedb").out
        assert ip in out, out
        # only the linking container knows the alias
        daemon.docker("run", "-d", "--name", "lk4-other", "--network", "lknet", image, "sleep", "1000")
        res = daemon.docker("exec", "lk4-other", "nslookup", "thedb", check=False)
        assert ip not in res.out
        # no variables there, as with dockerd
        assert "THEDB_NAME" not in daemon.docker("exec", "lk4-web", "env").out
        # docker network connect --link gives the same to a container joining
        daemon.docker("network", "disconnect", "lknet", "lk4-other")
        daemon.docker("network", "connect", "--link", "lk4-db:joined", "lknet", "lk4-other")
        assert ip in daemon.docker("exec", "lk4-other", "nslookup", "joined").out
        doc = daemon.json("GET", "/containers/lk4-web/json")
        assert doc["NetworkSettings"]["Networks"]["lknet"]["Links"] == ["lk4-db:thedb"]
        # not a link of dockerd's graph: HostConfig.Links stays null
        assert doc["HostConfig"]["Links"] is None
    finally:
        for n in list(cleanup):
            daemon.docker("rm", "-f", n, check=False)
        daemon.docker("network", "rm", "lknet")


def test_links_follow_renames(daemon, image, cleanup):
    cleanup += ["lk5-db2", "lk5-web2"]
    daemon.docker("run", "-d", "--name", "lk5-db", image, "sleep", "1000")
    daemon.docker("create", "--name", "lk5-web", "--link", "lk5-db:data", image, "sh", "-c",
                  "echo $DATA_NAME; grep -c lk5-db2 /etc/hosts")
    daemon.docker("rename", "lk5-db", "lk5-db2")
    assert daemon.json("GET", "/containers/lk5-web/json")["HostConfig"]["Links"] == ["/lk5-db2:/lk5-web/data"]
    daemon.docker("rename", "lk5-web", "lk5-web2")
    assert daemon.json("GET", "/containers/lk5-web2/json")["HostConfig"]["Links"] == ["/lk5-db2:/lk5-web2/data"]
    # and the link still works under both new names
    out = daemon.docker("start", "-a", "lk5-web2").out.split()
    assert out == ["/lk5-web2/data", "1"]

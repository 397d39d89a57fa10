"""Swarm secrets and configs on one node: lifecycle with filters and
labels through the docker CLI and docker-py, SwarmKit's validation and
messages, refusal to remove what a service uses, and services reading
them from files with the owners and modes given."""

import base64
import json
import os
import time

import docker
import pytest

INVALID_NAME = ("invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character "
                "must be [a-zA-Z0-9]")


@pytest.fixture(scope="module")
def d(daemon, fixtures):
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return daemon


def raw(d, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    status, _, out = d.request(method, "/v1.47" + path, body=data, headers=headers)
    return status, (json.loads(out) if out.strip() else None)


def wait_for(what, cond, timeout=30):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def test_secret_lifecycle_cli(d):
    sid = d.docker("secret", "create", "--label", "env=dev", "--label", "tier=db", "db_pass", "-",
                   input=b"s3cr3t-value\n").out.strip()
    assert len(sid) == 25
    other = d.docker("secret", "create", "api_key", "-", input=b"k").out.strip()
    ls = d.docker("secret", "ls", "--format", "{{.ID}} {{.Name}}").out.split("\n")
    assert sid + " db_pass" in ls and other + " api_key" in ls
    # filters: name is a prefix, id a prefix, label key or key=value
    assert d.docker("secret", "ls", "-q", "--filter", "name=db").out.split() == [sid]
    assert d.docker("secret", "ls", "-q", "--filter", "id=" + other[:6]).out.split() == [other]
    assert d.docker("secret", "ls", "-q", "--filter", "label=env=dev").out.split() == [sid]
    assert d.docker("secret", "ls", "-q", "--filter", "label=env=prod").out.split() == []
    res = d.docker("secret", "ls", "--filter", "bogus=1", check=False)
    assert res.returncode != 0 and "invalid filter 'bogus'" in res.err

    info = json.loads(d.docker("secret", "inspect", "db_pass").out)[0]
    assert info["ID"] == sid and info["Spec"]["Name"] == "db_pass"
    assert info["Spec"]["Labels"] == {"env": "dev", "tier": "db"}
    assert info["Version"]["Index"] > 0 and info["CreatedAt"] and info["UpdatedAt"]
    assert "Data" not in info["Spec"] and "Berth" not in info
    # the value is never returned, whichever way the object is read
    for path in ("/secrets", "/secrets/" + sid, "/secrets/db_pass", "/secrets/" + sid[:8]):
        status, body = raw(d, "GET", path)
        assert status == 200 and "s3cr3t" not in json.dumps(body)
        assert "czNjcjN0" not in json.dumps(body)   # nor its base64

    res = d.docker("secret", "create", "db_pass", "-", input=b"again", check=False)
    assert res.returncode != 0
    assert "rpc error: code = AlreadyExists desc = secret db_pass already exists" in res.err

    d.docker("secret", "rm", "db_pass", other)
    assert d.docker("secret", "ls", "-q").out.strip() == ""
    res = d.docker("secret", "inspect", "db_pass", check=False)
    assert res.returncode != 0 and "secret db_pass not found" in res.err
    res = d.docker("secret", "rm", "db_pass", check=False)
    assert res.returncode != 0 and "secret db_pass not found" in res.err


def test_secret_validation(d):
    for name in ("-lead", "trail-", "sp ace", "a" * 65, "sl/ash"):
        status, body = raw(d, "POST", "/secrets/create", {"Name": name, "Data": "eA=="})
        assert status == 400 and body["message"] == "rpc error: code = InvalidArgument desc = " + INVALID_NAME, name
    status, body = raw(d, "POST", "/secrets/create", {"Name": "", "Data": "eA=="})
    assert status == 400 and body["message"] == "rpc error: code = InvalidArgument desc = name must be provided"
    status, body = raw(d, "POST", "/secrets/create", {"Name": "empty"})
    assert status == 400 and body["message"] == (
        "rpc error: code = InvalidArgument desc = secret data must be larger than 0 and less than 512000 bytes")
    big = base64.b64encode(b"x" * (500 * 1024)).decode()
    status, body = raw(d, "POST", "/secrets/create", {"Name": "big", "Data": big})
    assert status == 400 and "less than 512000 bytes" in body["message"]
    ok = base64.b64encode(b"x" * (500 * 1024 - 1)).decode()
    status, body = raw(d, "POST", "/secrets/create", {"Name": "just-fits", "Data": ok})
    assert status == 201, body
    status, body = raw(d, "POST", "/secrets/create", {"Name": "notb64", "Data": "%%%"})
    assert status == 400
    status, body = raw(d, "POST", "/secrets/create", {"Name": "drv", "Data": "eA==", "Driver": {"Name": "vault"}})
    assert status == 501 and "not supported" in body["message"]
    # configs take up to 1000 KiB
    status, body = raw(d, "POST", "/configs/create", {"Name": "bigcfg", "Data": big})
    assert status == 201, body
    d.docker("secret", "rm", "just-fits")
    d.docker("config", "rm", "bigcfg")


def test_secret_update_labels_only(d):
    sid = d.docker("secret", "create", "--label", "a=1", "upd", "-", input=b"value").out.strip()
    info = json.loads(d.docker("secret", "inspect", sid).out)[0]
    ver = info["Version"]["Index"]
    spec = {"Name": "upd", "Labels": {"b": "2"}}
    status, body = raw(d, "POST", "/secrets/%s/update?version=%d" % (sid, ver), spec)
    assert status == 200, body
    after = json.loads(d.docker("secret", "inspect", sid).out)[0]
    assert after["Spec"]["Labels"] == {"b": "2"} and after["Version"]["Index"] > ver
    # a stale version, another name, other data: all refused
    status, body = raw(d, "POST", "/secrets/%s/update?version=%d" % (sid, ver), spec)
    assert status == 500 and body["message"] == "rpc error: code = Unknown desc = update out of sequence"
    v2 = after["Version"]["Index"]
    status, body = raw(d, "POST", "/secrets/%s/update?version=%d" % (sid, v2), {"Name": "renamed"})
    assert status == 400 and body["message"] == (
        "rpc error: code = InvalidArgument desc = only updates to Labels are allowed")
    status, body = raw(d, "POST", "/secrets/%s/update?version=%d" % (sid, v2),
                       {"Name": "upd", "Data": base64.b64encode(b"other").decode()})
    assert status == 400 and "only updates to Labels" in body["message"]
    # the same data is no change
    status, body = raw(d, "POST", "/secrets/%s/update?version=%d" % (sid, v2),
                       {"Name": "upd", "Data": base64.b64encode(b"value").decode(), "Labels": {}})
    assert status == 200, body
    d.docker("secret", "rm", sid)


def test_config_lifecycle_cli_and_docker_py(d):
    cid = d.docker("config", "create", "--label", "app=web", "nginx.conf", "-",
                   input=b"server { listen 80; }\n").out.strip()
    info = json.loads(d.docker("config", "inspect", "nginx.conf").out)[0]
    assert info["ID"] == cid
    # a config's data is shown, unlike a secret's
    assert base64.b64decode(info["Spec"]["Data"]) == b"server { listen 80; }\n"
    assert d.docker("config", "ls", "-q", "--filter", "label=app").out.split() == [cid]
    pretty = d.docker("config", "inspect", "--pretty", cid).out
    assert "server { listen 80; }" in pretty

    c = d.client()
    cfg = c.configs.create(name="py-cfg", data=b"hello", labels={"k": "v"})
    assert c.configs.get(cfg.id).name == "py-cfg"
    assert sorted(x.name for x in c.configs.list()) == ["nginx.conf", "py-cfg"]
    assert [x.name for x in c.configs.list(filters={"name": "py"})] == ["py-cfg"]
    sec = c.secrets.create(name="py-sec", data=b"pw", labels={"x": "y"})
    got = c.secrets.get(sec.id)
    assert got.name == "py-sec" and "Data" not in got.attrs["Spec"]
    assert [s.id for s in c.secrets.list(filters={"label": "x=y"})] == [sec.id]
    with pytest.raises(docker.errors.APIError) as ei:
        c.secrets.create(name="py-sec", data=b"pw")
    assert ei.value.response.status_code == 409
    with pytest.raises(docker.errors.NotFound):
        c.secrets.get("nope")
    sec.remove()
    cfg.remove()
    d.docker("config", "rm", cid)
    assert d.docker("config", "ls", "-q").out.strip() == ""


def test_events_name_secrets_not_values(d):
    since = str(int(time.time()) - 1)
    sid = d.docker("secret", "create", "evsec", "-", input=b"topsecret-in-events").out.strip()
    d.docker("secret", "rm", sid)
    until = str(int(time.time()) + 1)
    out = d.docker("events", "--since", since, "--until", until, "--filter", "type=secret",
                   "--format", "{{json .}}").out
    evs = [e for e in (json.loads(l) for l in out.strip().split("\n") if l) if e["Actor"]["ID"] == sid]
    assert [(e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"]["name"]) for e in evs] == [
        ("create", sid, "evsec"), ("remove", sid, "evsec")]
    assert "topsecret" not in out

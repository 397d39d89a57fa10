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


def task_container(d, service):
    ids = wait_for("a running task of " + service, lambda: d.docker(
        "ps", "-q", "--filter", "label=com.docker.swarm.service.name=" + service).out.split())
    return ids[0]


def exec_out(d, cid, *cmd):
    return d.docker("exec", cid, *cmd).out


def secrets_mounts(d):
    with open("/proc/mounts") as f:
        return [l.split()[1] for l in f if l.split()[1].startswith(os.path.join(d.exec_root, "secrets"))]


def test_service_reads_secret_and_config_with_owner_and_mode(d):
    d.docker("secret", "create", "svc_pw", "-", input=b"hunter2")
    d.docker("secret", "create", "svc_tok", "-", input=b"token-value")
    d.docker("config", "create", "svc_conf", "-", input=b"listen=80\n")
    d.docker("service", "create", "-d", "--name", "reader", "--stop-grace-period", "1s",
             "--secret", "source=svc_pw,target=db/password,uid=1000,gid=1001,mode=0400",
             "--secret", "svc_tok",
             "--config", "source=svc_conf,target=/etc/app.conf,uid=2000,gid=2001,mode=0440",
             "busybox", "sleep", "1000")
    cid = task_container(d, "reader")
    assert exec_out(d, cid, "cat", "/run/secrets/db/password") == "hunter2"
    assert exec_out(d, cid, "stat", "-c", "%u %g %a", "/run/secrets/db/password").strip() == "1000 1001 400"
    # the CLI's defaults: the secret's name as target, root, 0444
    assert exec_out(d, cid, "cat", "/run/secrets/svc_tok") == "token-value"
    assert exec_out(d, cid, "stat", "-c", "%u %g %a", "/run/secrets/svc_tok").strip() == "0 0 444"
    assert exec_out(d, cid, "cat", "/etc/app.conf") == "listen=80\n"
    assert exec_out(d, cid, "stat", "-c", "%u %g %a", "/etc/app.conf").strip() == "2000 2001 440"
    # read-only, and on a tmpfs rather than the node's disk
    res = d.docker("exec", cid, "sh", "-c", "echo x > /run/secrets/svc_tok", check=False)
    assert res.returncode != 0
    assert "tmpfs" in exec_out(d, cid, "sh", "-c", "grep ' /run/secrets ' /proc/mounts")
    assert len(secrets_mounts(d)) == 1

    # in use: removal refused, naming the service
    res = d.docker("secret", "rm", "svc_pw", check=False)
    assert res.returncode != 0 and ("rpc error: code = InvalidArgument desc = secret 'svc_pw' is in use by the "
                                    "following service: reader") in res.err
    res = d.docker("config", "rm", "svc_conf", check=False)
    assert res.returncode != 0 and "config 'svc_conf' is in use by the following service: reader" in res.err

    # update: one secret out, another in; a rolling update replaces the task
    d.docker("secret", "create", "svc_new", "-", input=b"fresh")
    d.docker("service", "update", "-d", "--secret-rm", "svc_tok", "--secret-add", "source=svc_new,mode=0404",
             "reader")

    def updated():
        for c in d.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=reader").out.split():
            res = d.docker("exec", c, "cat", "/run/secrets/svc_new", check=False)
            if res.returncode == 0:
                return c
        return None
    cid2 = wait_for("the updated task", updated)
    assert exec_out(d, cid2, "cat", "/run/secrets/svc_new") == "fresh"
    assert exec_out(d, cid2, "stat", "-c", "%a", "/run/secrets/svc_new").strip() == "404"
    assert d.docker("exec", cid2, "test", "-e", "/run/secrets/svc_tok", check=False).returncode != 0
    wait_for("the old task's tmpfs gone", lambda: len(secrets_mounts(d)) == 1)
    d.docker("secret", "rm", "svc_tok")   # no longer used

    d.docker("service", "rm", "reader")
    wait_for("tasks gone", lambda: d.docker(
        "ps", "-aq", "--filter", "label=com.docker.swarm.service.name=reader").out.strip() == "")
    wait_for("tmpfs gone", lambda: secrets_mounts(d) == [])
    assert os.listdir(os.path.join(d.exec_root, "secrets")) == []
    d.docker("secret", "rm", "svc_pw", "svc_new")
    d.docker("config", "rm", "svc_conf")


def test_service_refs_checked(d):
    res = d.docker("service", "create", "-d", "--secret", "missing", "busybox", "true", check=False)
    assert res.returncode != 0 and "secret not found: missing" in res.err
    sid = d.docker("secret", "create", "ref_a", "-", input=b"a").out.strip()
    spec = {"Name": "refs", "TaskTemplate": {"ContainerSpec": {"Image": "busybox", "Secrets": [
        {"SecretID": sid, "SecretName": "ref_a", "File": {"Name": "t", "UID": "0", "GID": "0", "Mode": 292}},
        {"SecretID": sid, "SecretName": "ref_a", "File": {"Name": "t", "UID": "0", "GID": "0", "Mode": 292}}]}}}
    status, body = raw(d, "POST", "/services/create", spec)
    assert status == 400 and body["message"] == (
        "rpc error: code = InvalidArgument desc = secret references 'ref_a' and 'ref_a' have a conflicting "
        "target: 't'")
    spec["TaskTemplate"]["ContainerSpec"]["Secrets"] = [{"SecretID": sid, "SecretName": "other",
                                                          "File": {"Name": "t"}}]
    status, body = raw(d, "POST", "/services/create", spec)
    assert status == 400 and body["message"] == "rpc error: code = InvalidArgument desc = secret not found: other"
    spec["TaskTemplate"]["ContainerSpec"]["Secrets"] = [{"SecretID": sid, "SecretName": "ref_a",
                                                          "File": {"Name": "../../etc/x"}}]
    status, body = raw(d, "POST", "/services/create", spec)
    assert status == 400 and "invalid target file name" in body["message"]
    d.docker("secret", "rm", sid)


def test_docker_py_service_with_secret(d):
    c = d.client()
    sec = c.secrets.create(name="pysvc", data=b"from-docker-py")
    ref = docker.types.SecretReference(sec.id, "pysvc", filename="py.txt", uid="0", gid="0", mode=0o440)
    svc = c.services.create("busybox", ["sleep", "1000"], name="pyreader", secrets=[ref])
    cid = task_container(d, "pyreader")
    assert exec_out(d, cid, "cat", "/run/secrets/py.txt") == "from-docker-py"
    svc.remove()
    wait_for("tmpfs gone", lambda: secrets_mounts(d) == [])
    sec.remove()


def scan_for(root, needles):
    """Every file under root that holds one of needles, in plain text."""
    hits = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            hits += [(path, n) for n in needles if n in data]
    return hits


def test_data_root_never_holds_a_secret_in_plain_text(make_daemon, fixtures):
    d = make_daemon(args=["--debug"])
    value = b"plaintext-canary-" + os.urandom(8).hex().encode()
    d.docker("secret", "create", "canary", "-", input=value)
    # enough writes for a snapshot or two to be taken as well
    for i in range(3):
        d.docker("secret", "create", "filler%d" % i, "-", input=b"f")
    needles = [value, base64.b64encode(value), base64.b64encode(value)[:20]]
    assert scan_for(d.data_root, needles) == []
    assert scan_for(d.exec_root, needles) == []
    assert os.path.exists(os.path.join(d.data_root, "swarm", "keyring.json"))
    # not only the value: nothing of the documents is readable in the raft files
    raft = os.path.join(d.data_root, "swarm", "raft")
    assert scan_for(raft, [b"filler0", b"canary", b'"Spec"']) == []
    # after a restart the store reads its sealed log back
    d.stop()
    d.start()
    assert "canary" in d.docker("secret", "ls", "--format", "{{.Name}}").out.split()
    assert scan_for(d.data_root, needles) == []
    assert value not in d.read_log().encode()


LOCKED = ('Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" '
          'to unlock it.')


def unlock(d, key, check=True):
    return d.docker("swarm", "unlock", input=(key + "\n").encode(), check=check)


def test_autolock_restart_unlock_rotate_and_off(make_daemon, fixtures):
    d = make_daemon()
    res = d.docker("swarm", "init", "--advertise-addr", "127.0.0.1", "--autolock")
    key = d.docker("swarm", "unlock-key", "-q").out.strip()
    assert key.startswith("SWMKEY-1-") and len(key) == 52 and key in res.out
    assert d.docker("info", "--format", "{{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}").out.strip() == "true"
    d.docker("secret", "create", "kept", "-", input=b"kept-value")
    keyring = json.load(open(os.path.join(d.data_root, "swarm", "keyring.json")))
    assert "KEK" not in keyring   # derived from the key, never stored
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    d.docker("service", "create", "-d", "--name", "holder", "--secret", "kept", "--stop-grace-period", "1s",
             "busybox", "sleep", "1000")
    wait_for("the task's tmpfs", lambda: len(secrets_mounts(d)) == 1)
    wait_for("the task running", lambda: d.docker("service", "ls", "--filter", "name=holder", "--format",
                                                  "{{.Replicas}}").out.strip() == "1/1")

    d.stop(sig=9)
    d.start()
    assert d.docker("info", "--format", "{{.Swarm.LocalNodeState}}").out.strip() == "locked"
    # what the killed daemon left on its tmpfs is gone, locked or not
    assert secrets_mounts(d) == []
    res = d.docker("secret", "ls", check=False)
    assert res.returncode != 0 and LOCKED in res.err
    status, body = raw(d, "GET", "/services")
    assert status == 503 and body["message"] == LOCKED
    # malformed, then wrong keys are refused; the node stays locked
    status, body = raw(d, "POST", "/swarm/unlock", {"UnlockKey": "nonsense"})
    assert status == 400 and body["message"] == "invalid key string"
    wrong = "SWMKEY-1-" + base64.b64encode(os.urandom(32)).decode().rstrip("=")
    res = unlock(d, wrong, check=False)
    assert res.returncode != 0 and "swarm could not be unlocked: invalid key provided" in res.err
    assert d.docker("info", "--format", "{{.Swarm.LocalNodeState}}").out.strip() == "locked"
    unlock(d, key)
    assert d.docker("info", "--format", "{{.Swarm.LocalNodeState}}").out.strip() == "active"
    assert d.docker("secret", "ls", "--format", "{{.Name}}").out.split() == ["kept"]
    cid = task_container(d, "holder")   # the service runs again, its secret back
    assert wait_for("the secret", lambda: d.docker("exec", cid, "cat", "/run/secrets/kept",
                                                   check=False).out == "kept-value")
    d.docker("service", "rm", "holder")
    wait_for("holder's containers gone", lambda: d.docker(
        "ps", "-aq", "--filter", "label=com.docker.swarm.service.name=holder").out.strip() == "")
    res = unlock(d, key, check=False)
    assert res.returncode != 0 and "swarm is not locked" in res.err

    # rotation: the new key opens it after a restart, the old one no longer
    d.docker("swarm", "unlock-key", "--rotate")
    new = d.docker("swarm", "unlock-key", "-q").out.strip()
    assert new != key and new.startswith("SWMKEY-1-")
    d.stop()
    d.start()
    assert "invalid key provided" in unlock(d, key, check=False).err
    unlock(d, new)
    assert d.docker("secret", "ls", "--format", "{{.Name}}").out.split() == ["kept"]

    # autolock off: the next start needs no key
    d.docker("swarm", "update", "--autolock=false")
    assert d.docker("swarm", "unlock-key", "-q", check=False).out.strip() == ""
    d.stop()
    d.start()
    assert d.docker("info", "--format", "{{.Swarm.LocalNodeState}}").out.strip() == "active"
    assert d.docker("secret", "ls", "--format", "{{.Name}}").out.split() == ["kept"]
    # and on again through update
    d.docker("swarm", "update", "--autolock=true")
    again = d.docker("swarm", "unlock-key", "-q").out.strip()
    d.stop()
    d.start()
    assert d.docker("info", "--format", "{{.Swarm.LocalNodeState}}").out.strip() == "locked"
    unlock(d, again)
    assert d.docker("secret", "ls", "--format", "{{.Name}}").out.split() == ["kept"]
    assert key not in d.read_log() and new not in d.read_log()


def test_templated_config(d):
    d.docker("secret", "create", "tpl_pw", "-", input=b"pa55")
    tmpl = ('svc={{.Service.Name}} slot={{.Task.Slot}} mode={{env "MODE"}} tier={{index .Service.Labels "tier"}}\n'
            'pw={{secret "db_pw"}} {{- /* a comment */ -}} !\n')
    d.docker("config", "create", "--template-driver", "golang", "tpl_cfg", "-", input=tmpl.encode())
    info = json.loads(d.docker("config", "inspect", "tpl_cfg").out)[0]
    assert info["Spec"]["Templating"] == {"Name": "golang"}
    d.docker("service", "create", "-d", "--name", "tpl", "--env", "MODE=prod", "--label", "tier=back",
             "--stop-grace-period", "1s", "--secret", "source=tpl_pw,target=db_pw",
             "--config", "source=tpl_cfg,target=/etc/app.conf", "busybox", "sleep", "1000")
    cid = task_container(d, "tpl")
    assert exec_out(d, cid, "cat", "/etc/app.conf") == "svc=tpl slot=1 mode=prod tier=back\npw=pa55!\n"
    d.docker("service", "rm", "tpl")

    # what the subset cannot render rejects the task with the reason
    d.docker("config", "create", "--template-driver", "golang", "tpl_bad", "-",
             input=b'{{if .Service.Name}}x{{end}}')
    d.docker("service", "create", "-d", "--name", "tplbad", "--config", "tpl_bad", "busybox", "sleep", "1000")
    err = wait_for("a rejected task", lambda: d.docker("service", "ps", "--no-trunc", "--format", "{{.Error}}",
                                                      "tplbad").out.strip())
    assert "template: line 1: unsupported action" in err
    d.docker("service", "rm", "tplbad")
    wait_for("tasks gone", lambda: d.docker(
        "ps", "-aq", "--filter", "label=com.docker.swarm.service.name=tpl").out.strip() == "")
    status, body = raw(d, "POST", "/configs/create", {"Name": "tpl_other", "Data": "eA==",
                                                      "Templating": {"Name": "jinja"}})
    assert status == 501 and "only golang" in body["message"]
    wait_for("services gone", lambda: d.docker("service", "ls", "-q").out.strip() == "")
    d.docker("config", "rm", "tpl_cfg", "tpl_bad")
    d.docker("secret", "rm", "tpl_pw")


def test_locked_node_can_leave_and_start_over(make_daemon):
    d = make_daemon()
    d.docker("swarm", "init", "--advertise-addr", "127.0.0.1", "--autolock")
    d.docker("secret", "create", "gone", "-", input=b"x")
    old = d.docker("info", "--format", "{{.Swarm.Cluster.ID}}").out.strip()
    d.stop()
    d.start()
    assert d.docker("info", "--format", "{{.Swarm.LocalNodeState}}").out.strip() == "locked"
    d.docker("swarm", "leave", "--force")
    assert d.docker("info", "--format", "{{.Swarm.LocalNodeState}}").out.strip() == "active"
    assert d.docker("info", "--format", "{{.Swarm.Cluster.ID}}").out.strip() != old
    assert d.docker("secret", "ls", "-q").out.strip() == ""
    assert d.docker("swarm", "unlock-key", "-q", check=False).out.strip() == ""

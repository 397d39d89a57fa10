"""Volumes: the local driver, docker volume create/ls/inspect/rm/prune,
-v NAME:/path, -v /path, --mount type=volume, image VOLUMEs,
--volumes-from, rm -v, events and docker system df."""

import json
import os
import re
import subprocess
import time
import urllib.parse

import pytest

NET = ["--network", "none"]


@pytest.fixture(scope="module")
def d(daemon, fixtures):
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return daemon


def run(d, *args, check=True):
    return d.docker("run", "--rm", *NET, *args, check=check)


def volumes(d):
    return set(d.docker("volume", "ls", "-q").out.split())


def mounts(d, cid):
    return json.loads(d.docker("inspect", "-f", "{{json .Mounts}}", cid).out)


def q(filters):
    return urllib.parse.quote(json.dumps(filters))


# ---- the volume commands ---------------------------------------------------------


def test_create_ls_inspect_rm(d):
    assert d.docker("volume", "create", "--label", "tier=web", "--label", "env", "vol-a").out.strip() == "vol-a"
    d.docker("volume", "create", "vol-b")
    # the same name again is the same volume (labels stay as they were)
    assert d.docker("volume", "create", "vol-a").out.strip() == "vol-a"
    v = json.loads(d.docker("volume", "inspect", "vol-a").out)[0]
    assert v["Name"] == "vol-a" and v["Driver"] == "local" and v["Scope"] == "local"
    assert v["Labels"] == {"tier": "web", "env": ""}
    assert v["Mountpoint"] == os.path.join(d.data_root, "volumes", "vol-a", "_data")
    assert os.path.isdir(v["Mountpoint"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$", v["CreatedAt"])
    assert {"vol-a", "vol-b"} <= volumes(d)
    ls = lambda *f: set(d.docker("volume", "ls", "-q", *f).out.split())
    assert ls("--filter", "label=tier=web") == {"vol-a"}
    assert ls("--filter", "label=env", "--filter", "name=vol-") == {"vol-a"}
    assert {"vol-a", "vol-b"} <= ls("--filter", "name=^vol-")
    assert ls("--filter", "driver=other") == set()
    assert {"vol-a", "vol-b"} <= ls("--filter", "dangling=true")
    d.docker("volume", "rm", "vol-a", "vol-b")
    assert not {"vol-a", "vol-b"} & volumes(d)
    assert not os.path.exists(v["Mountpoint"])
    res = d.docker("volume", "rm", "vol-a", check=False)
    assert res.returncode == 1 and "get vol-a: no such volume" in res.err
    res = d.docker("volume", "create", "a/b", check=False)
    assert res.returncode == 1 and 'create a/b: "a/b" includes invalid characters for a local volume name' in res.err
    res = d.docker("volume", "create", "-d", "nfs", "vol-c", check=False)
    assert res.returncode == 1 and 'error looking up volume plugin nfs: plugin "nfs" not found' in res.err


def test_api_shapes(d):
    status, _, body = d.request("POST", "/volumes/create", body=json.dumps({"Name": "api-v", "Labels": {"k": "v"}}),
                                headers={"Content-Type": "application/json"})
    assert status == 201, body
    v = json.loads(body)
    assert set(v) == {"CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"}
    assert v["Options"] is None and v["Labels"] == {"k": "v"}
    listing = d.json("GET", "/volumes?filters=" + q({"name": ["api-v"]}))
    assert listing["Warnings"] is None and [x["Name"] for x in listing["Volumes"]] == ["api-v"]
    assert d.json("GET", "/v1.47/volumes/api-v")["Name"] == "api-v"
    status, _, body = d.request("GET", "/volumes/nope")
    assert status == 404 and json.loads(body)["message"] == "get nope: no such volume"
    status, _, body = d.request("DELETE", "/volumes/nope")
    assert status == 404
    status, _, _ = d.request("DELETE", "/volumes/nope?force=1")
    assert status == 204
    status, _, body = d.request("PUT", "/volumes/api-v?version=1", body="{}")
    assert status == 501
    status, _, body = d.request("POST", "/volumes/create", body=json.dumps({"Name": "x"}),
                                headers={"Content-Type": "application/json"})
    assert status == 400 and "volume name is too short" in json.loads(body)["message"]
    status, _, body = d.request("POST", "/volumes/create", body=json.dumps({"Name": "opt-v", "DriverOpts": {"bogus": "1"}}),
                                headers={"Content-Type": "application/json"})
    assert status == 400 and json.loads(body)["message"] == 'create opt-v: invalid option: "bogus"'
    status, _, body = d.request("GET", "/volumes?filters=" + q({"dangling": ["maybe"]}))
    assert status == 400
    status, _, body = d.request("GET", "/volumes?filters=" + q({"until": ["1h"]}))
    assert status == 400 and json.loads(body)["message"] == "invalid filter 'until'"
    # an empty body makes an anonymous volume
    status, _, body = d.request("POST", "/volumes/create", body="", headers={"Content-Type": "application/json"})
    anon = json.loads(body)
    assert status == 201 and re.match(r"^[0-9a-f]{64}$", anon["Name"])
    assert anon["Labels"] == {"com.docker.volume.anonymous": ""}
    for name in ("api-v", anon["Name"]):
        assert d.request("DELETE", "/volumes/" + name)[0] == 204


def test_docker_py(d):
    client = d.client()
    v = client.volumes.create("py-v", labels={"from": "py"})
    assert v.name == "py-v" and v.attrs["Labels"] == {"from": "py"}
    assert "py-v" in [x.name for x in client.volumes.list(filters={"label": "from=py"})]
    assert client.volumes.get("py-v").attrs["Driver"] == "local"
    client.volumes.get("py-v").remove()
    import docker
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get("py-v")


# ---- volumes in containers --------------------------------------------------------


def test_named_volume_shared_by_containers(d):
    run(d, "-v", "shared:/data", "busybox", "sh", "-c", "echo one > /data/f")
    assert "shared" in volumes(d)   # made on demand
    assert run(d, "-v", "shared:/srv:ro", "busybox", "cat", "/srv/f").out == "one\n"
    res = run(d, "-v", "shared:/srv:ro", "busybox", "touch", "/srv/x", check=False)
    assert res.returncode != 0 and "Read-only file system" in res.err
    d.docker("volume", "rm", "shared")


def test_image_content_copied_into_fresh_volume(d):
    out = run(d, "-v", "etcvol:/etc", "busybox", "cat", "/etc/passwd").out
    assert out.startswith("root:")
    host = json.loads(d.docker("volume", "inspect", "etcvol").out)[0]["Mountpoint"]
    st_img = os.stat(host)
    assert os.path.isfile(os.path.join(host, "passwd")) and st_img.st_uid == 0
    # the generated /etc files go over the volume, as dockerd sorts mounts
    listing = run(d, "-v", "etcvol:/etc", "busybox", "ls", "/etc").out.split()
    assert {"hostname", "hosts", "resolv.conf", "passwd"} <= set(listing)
    # not copied again into a volume that has content, and not with nocopy
    run(d, "-v", "etcvol:/etc", "busybox", "rm", "/etc/group")
    run(d, "-v", "etcvol:/etc", "busybox", "true")
    assert not os.path.exists(os.path.join(host, "group"))
    generated = {"hostname", "hosts", "resolv.conf"}
    assert set(run(d, "-v", "emptyvol:/etc:nocopy", "busybox", "ls", "-A", "/etc").out.split()) == generated
    assert set(run(d, "--mount", "type=volume,src=emptyvol2,dst=/etc,volume-nocopy", "busybox", "ls", "-A",
                   "/etc").out.split()) == generated
    d.docker("volume", "rm", "etcvol", "emptyvol", "emptyvol2")


def test_anonymous_volumes_and_rm_v(d):
    before = volumes(d)
    cid = d.docker("create", *NET, "-v", "/data", "-v", "keep-me:/named", "busybox", "true").out.strip()
    m = {x["Destination"]: x for x in mounts(d, cid)}
    anon = m["/data"]
    assert anon["Type"] == "volume" and re.match(r"^[0-9a-f]{64}$", anon["Name"]) and anon["Driver"] == "local"
    assert anon["RW"] is True and anon["Propagation"] == "" and anon["Mode"] == ""
    assert anon["Source"] == os.path.join(d.data_root, "volumes", anon["Name"], "_data")
    assert m["/named"]["Name"] == "keep-me" and m["/named"]["Mode"] == "z"
    v = json.loads(d.docker("volume", "inspect", anon["Name"]).out)[0]
    assert v["Labels"] == {"com.docker.volume.anonymous": ""}
    d.docker("rm", "-v", cid)
    assert anon["Name"] not in volumes(d) and "keep-me" in volumes(d)
    # without -v the anonymous volume stays
    cid = d.docker("create", *NET, "-v", "/data", "busybox", "true").out.strip()
    name = mounts(d, cid)[0]["Name"]
    d.docker("rm", cid)
    assert name in volumes(d)
    d.docker("volume", "rm", name, "keep-me")
    # --rm takes its anonymous volumes along, as dockerd's auto-remove does
    run(d, "-v", "/scratch", "busybox", "touch", "/scratch/x")
    deadline = time.time() + 10
    while volumes(d) != before and time.time() < deadline:
        time.sleep(0.1)
    assert volumes(d) == before


def test_anonymous_volume_kept_across_restarts(d):
    cid = d.docker("run", "-d", *NET, "-v", "/state", "busybox", "sh", "-c",
                   "echo x >> /state/runs; sleep 60").out.strip()
    try:
        # each run appends a line once its shell gets there: wait for it
        def runs(n):
            deadline = time.time() + 10
            while time.time() < deadline:
                out = d.docker("exec", cid, "cat", "/state/runs", check=False).out
                if out.count("x") >= n:
                    return out
                time.sleep(0.05)
            return out
        assert runs(1) == "x\n"
        d.docker("restart", "-t", "0", cid)
        assert runs(2) == "x\nx\n"
    finally:
        d.docker("rm", "-fv", cid)


def test_image_volume(d):
    src = d.docker("create", *NET, "busybox", "sh", "-c", "true").out.strip()
    d.docker("commit", "--change", 'VOLUME ["/vol"]', "--change", 'CMD ["sh"]', src, "withvol:1")
    d.docker("rm", src)
    cid = d.docker("create", *NET, "withvol:1", "ls", "/vol").out.strip()
    m = mounts(d, cid)
    assert len(m) == 1 and m[0]["Destination"] == "/vol" and m[0]["Type"] == "volume"
    # a -v on that path replaces the anonymous volume
    cid2 = d.docker("create", *NET, "-v", "covered:/vol", "withvol:1").out.strip()
    assert [x["Name"] for x in mounts(d, cid2)] == ["covered"]
    d.docker("rm", "-v", cid, cid2)
    d.docker("volume", "rm", "covered")
    d.docker("rmi", "withvol:1")


def test_volumes_from(d):
    src = d.docker("create", *NET, "--name", "datasrc", "-v", "/anon", "-v", "vf-named:/named", "busybox",
                   "true").out.strip()
    run(d, "--volumes-from", "datasrc", "busybox", "sh", "-c", "echo a > /anon/f; echo n > /named/f")
    assert run(d, "--volumes-from", "datasrc", "busybox", "cat", "/anon/f", "/named/f").out == "a\nn\n"
    res = run(d, "--volumes-from", "datasrc:ro", "busybox", "touch", "/named/g", check=False)
    assert res.returncode != 0 and "Read-only file system" in res.err
    cid = d.docker("create", *NET, "--volumes-from", "datasrc:ro", "busybox", "true").out.strip()
    m = {x["Destination"]: x for x in mounts(d, cid)}
    assert m["/named"]["RW"] is False and m["/anon"]["Name"] == {x["Destination"]: x for x in mounts(d, src)}["/anon"]["Name"]
    res = d.docker("create", *NET, "--volumes-from", "no-such-container", "busybox", "true", check=False)
    assert res.returncode != 0 and "No such container: no-such-container" in res.err
    d.docker("rm", cid)
    d.docker("rm", "-v", src)
    assert "vf-named" in volumes(d)
    d.docker("volume", "rm", "vf-named")


def test_rm_in_use_is_409(d):
    cid = d.docker("create", *NET, "-v", "busy:/b", "busybox", "true").out.strip()
    status, _, body = d.request("DELETE", "/volumes/busy")
    assert status == 409
    assert json.loads(body)["message"] == "remove busy: volume is in use - [%s]" % cid
    res = d.docker("volume", "rm", "-f", "busy", check=False)
    assert res.returncode == 1 and "volume is in use" in res.err
    assert d.docker("volume", "ls", "-q", "--filter", "dangling=false", "--filter", "name=busy").out.split() == ["busy"]
    d.docker("rm", cid)
    d.docker("volume", "rm", "busy")


def test_mount_flag(d):
    res = run(d, "--mount", "type=volume,source=mountv,target=/m,readonly", "busybox", "touch", "/m/x", check=False)
    assert res.returncode != 0 and "Read-only file system" in res.err
    cid = d.docker("create", *NET, "--mount", "type=volume,source=mountv,target=/m,readonly",
                   "--mount", "type=volume,target=/anon,volume-label=made=by-mount", "busybox", "true").out.strip()
    m = {x["Destination"]: x for x in mounts(d, cid)}
    assert m["/m"] == {"Type": "volume", "Name": "mountv", "Source": os.path.join(d.data_root, "volumes", "mountv", "_data"),
                       "Destination": "/m", "Driver": "local", "Mode": "z", "RW": False, "Propagation": ""}
    labels = json.loads(d.docker("volume", "inspect", m["/anon"]["Name"]).out)[0]["Labels"]
    assert labels == {"made": "by-mount", "com.docker.volume.anonymous": ""}
    d.docker("rm", "-v", cid)
    d.docker("volume", "rm", "mountv")


def test_local_driver_device_options(d):
    d.docker("volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=2m,mode=0700",
             "tmpv")
    v = json.loads(d.docker("volume", "inspect", "tmpv").out)[0]
    assert v["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=2m,mode=0700"}
    out = run(d, "-v", "tmpv:/t", "busybox", "sh", "-c", "grep ' /t ' /proc/mounts; echo data > /t/f").out
    assert out.startswith("tmpfs /t tmpfs") and "size=2048k" in out
    # unmounted when the last user stopped: the tmpfs (and its file) is gone
    with open("/proc/self/mountinfo") as f:
        assert v["Mountpoint"] not in f.read()
    assert not os.path.exists(os.path.join(v["Mountpoint"], "f"))
    # the same through --mount volume-opt, for a volume made on demand
    out = run(d, "--mount", "type=volume,src=mtmp,dst=/m,volume-opt=type=tmpfs,volume-opt=device=tmpfs",
              "busybox", "grep", " /m ", "/proc/mounts").out
    assert out.startswith("tmpfs /m tmpfs")
    assert json.loads(d.docker("volume", "inspect", "mtmp").out)[0]["Options"] == {"type": "tmpfs", "device": "tmpfs"}
    d.docker("volume", "rm", "mtmp")
    res = d.docker("volume", "create", "--opt", "type=tmpfs", "badopt", check=False)
    assert res.returncode == 1 and 'missing required option: "device"' in res.err
    d.docker("volume", "rm", "tmpv")


def test_prune(d):
    d.docker("volume", "create", "--label", "keep=yes", "prune-named")
    d.docker("volume", "create", "prune-named2")
    anon = d.docker("volume", "create").out.strip()
    used = d.docker("create", *NET, "-v", "/inuse", "busybox", "true").out.strip()
    used_vol = mounts(d, used)[0]["Name"]
    with open(os.path.join(d.data_root, "volumes", anon, "_data", "f"), "w") as f:
        f.write("x" * 1000)
    out = d.docker("volume", "prune", "-f").out
    assert anon in out and "prune-named" not in out and "Total reclaimed space: 1kB" in out
    assert {"prune-named", "prune-named2", used_vol} <= volumes(d)
    out = d.docker("volume", "prune", "-af", "--filter", "label!=keep=yes").out
    assert "prune-named2" in out and "prune-named\n" not in out
    rep = d.json("POST", "/volumes/prune?filters=" + q({"all": ["true"], "label": ["keep"]}))
    assert rep == {"VolumesDeleted": ["prune-named"], "SpaceReclaimed": 0}
    assert used_vol in volumes(d)
    status, _, body = d.request("POST", "/volumes/prune?filters=" + q({"all": ["sometimes"]}))
    assert status == 400
    # before API 1.42 prune takes named volumes too
    d.docker("volume", "create", "old-api")
    assert "old-api" in d.json("POST", "/v1.41/volumes/prune")["VolumesDeleted"]
    d.docker("rm", "-v", used)


def test_events(d):
    since = str(time.time() - 1)
    run(d, "-v", "evvol:/e", "busybox", "true")
    d.docker("volume", "rm", "evvol")
    until = str(time.time() + 1)
    out = d.docker("events", "--since", since, "--until", until, "--filter", "type=volume", "--format",
                   "{{json .}}").out
    evs = [json.loads(l) for l in out.splitlines() if l.strip()]
    evs = [e for e in evs if e["Actor"]["ID"] == "evvol"]
    assert [e["Action"] for e in evs] == ["create", "mount", "unmount", "destroy"]
    mount = evs[1]["Actor"]["Attributes"]
    assert mount["driver"] == "local" and mount["destination"] == "/e" and mount["read/write"] == "true"
    assert "container" in evs[2]["Actor"]["Attributes"]


def test_system_df(d):
    d.docker("volume", "create", "dfvol")
    cid = d.docker("run", "-d", *NET, "-v", "dfvol:/d", "busybox", "sh", "-c",
                   "head -c 4096 /dev/zero > /d/f; head -c 2048 /dev/zero > /rw; sleep 60").out.strip()
    # Both files are written once the container runs, the second after the
    # first: wait for both (under load the second can lag the first poll).
    deadline = time.time() + 10
    while time.time() < deadline:
        df = d.json("GET", "/system/df")
        vol = [v for v in df["Volumes"] if v["Name"] == "dfvol"][0]
        c = [x for x in df["Containers"] if x["Id"] == cid][0]
        if vol["UsageData"]["Size"] == 4096 and c["SizeRw"] >= 2048:
            break
        time.sleep(0.1)
    assert vol["UsageData"] == {"Size": 4096, "RefCount": 1}
    assert df["BuildCache"] == [] and df["LayersSize"] > 0
    img = [i for i in df["Images"] if "busybox:latest" in i["RepoTags"]][0]
    assert img["Containers"] >= 1 and img["Size"] > 0 and img["SharedSize"] >= 0
    c = [x for x in df["Containers"] if x["Id"] == cid][0]
    assert c["SizeRw"] >= 2048 and c["SizeRootFs"] == c["SizeRw"] + img["Size"]
    assert any(m["Name"] == "dfvol" and m["Driver"] == "local" for m in c["Mounts"])
    only = d.json("GET", "/system/df?type=volume")
    assert set(only) == {"Volumes"}
    assert set(d.json("GET", "/system/df?type=image&type=container")) >= {"Images", "Containers"}
    status, _, body = d.request("GET", "/system/df?type=bogus")
    assert status == 400 and json.loads(body)["message"] == "unknown object type: bogus"
    out = d.docker("system", "df").out
    assert re.search(r"^Local Volumes\s+\d+\s+\d+", out, re.M) and re.search(r"^Images\s+\d+\s+\d+", out, re.M)
    out = d.docker("system", "df", "-v").out
    assert "dfvol" in out and "Local Volumes space usage" in out and cid[:12] in out
    assert d.json("POST", "/build/prune") == {"CachesDeleted": [], "SpaceReclaimed": 0}
    d.docker("rm", "-f", cid)
    d.docker("volume", "rm", "dfvol")


def test_ps_volume_filter(d):
    cid = d.docker("create", *NET, "-v", "psvol:/p", "busybox", "true").out.strip()
    assert d.docker("ps", "-aq", "--no-trunc", "--filter", "volume=psvol").out.split() == [cid]
    assert d.docker("ps", "-aq", "--no-trunc", "--filter", "volume=/p").out.split() == [cid]
    assert d.docker("ps", "-aq", "--filter", "volume=nope").out.split() == []
    d.docker("rm", cid)
    d.docker("volume", "rm", "psvol")


def test_system_prune(d):
    status, _, _ = d.request("POST", "/networks/prune")
    if status == 501:
        pytest.skip("POST /networks/prune is not built yet")
    anon = d.docker("volume", "create").out.strip()
    d.docker("volume", "create", "sysprune-named")
    d.docker("create", *NET, "busybox", "true")
    out = d.docker("system", "prune", "-f", "--volumes").out
    assert anon in out and "Total reclaimed space" in out
    assert "sysprune-named" in volumes(d) and anon not in volumes(d)
    d.docker("volume", "rm", "sysprune-named")


# ---- across a daemon restart ------------------------------------------------------


def test_data_kept_across_daemon_restart(make_daemon, fixtures):
    d = make_daemon()
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    d.docker("volume", "create", "--label", "a=b", "persist")
    run(d, "-v", "persist:/p", "busybox", "sh", "-c", "echo kept > /p/f")
    cid = d.docker("create", *NET, "-v", "/anon", "busybox", "cat", "/anon/f").out.strip()
    anon = mounts(d, cid)[0]["Name"]
    run(d, "--volumes-from", cid, "busybox", "sh", "-c", "echo anon > /anon/f")
    assert d.stop() == 0
    d.start()
    v = json.loads(d.docker("volume", "inspect", "persist").out)[0]
    assert v["Labels"] == {"a": "b"}
    assert run(d, "-v", "persist:/p", "busybox", "cat", "/p/f").out == "kept\n"
    assert mounts(d, cid)[0]["Name"] == anon
    d.docker("start", "-a", cid)
    assert d.docker("logs", cid).out == "anon\n"
    res = d.docker("volume", "rm", anon, check=False)
    assert res.returncode == 1 and "volume is in use" in res.err
    d.docker("rm", "-v", cid)
    assert anon not in volumes(d)

"""Bind mounts and tmpfs mounts (-v /host:/ctr, --mount); volumes are in test_volumes.py."""

import json
import os

import pytest

NET = ["--network", "none"]


@pytest.fixture(scope="module")
def d(daemon, fixtures):
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return daemon


def run(d, *args, check=True):
    return d.docker("run", "--rm", *NET, *args, check=check)


def test_bind_rw_ro_and_created_source(d, tmp_path):
    host = tmp_path / "data"
    host.mkdir()
    (host / "in.txt").write_text("from host\n")
    assert run(d, "-v", "%s:/data" % host, "busybox", "sh", "-c", "cat /data/in.txt; echo back > /data/out.txt").out == "from host\n"
    assert (host / "out.txt").read_text() == "back\n"
    res = run(d, "-v", "%s:/data:ro" % host, "busybox", "touch", "/data/x", check=False)
    assert res.returncode != 0 and "Read-only file system" in res.err
    missing = tmp_path / "made" / "by" / "run"
    run(d, "-v", "%s:/m" % missing, "busybox", "touch", "/m/f")
    assert (missing / "f").exists()


def test_mount_flag(d, tmp_path):
    host = tmp_path / "m"
    host.mkdir()
    out = run(d, "--mount", "type=bind,source=%s,target=/b,readonly" % host, "--mount",
              "type=tmpfs,target=/t,tmpfs-size=1048576", "busybox", "sh", "-c",
              "grep -E ' /b | /t ' /proc/mounts").out
    assert " /b " in out and "ro," in out.split(" /b ")[1] and " /t tmpfs " in out and "size=1024k" in out
    res = run(d, "--mount", "type=bind,source=/no/such/dir,target=/b", "busybox", "true", check=False)
    assert res.returncode == 125 and "bind source path does not exist" in res.err


def test_inspect_mounts(d, tmp_path):
    cid = d.docker("create", *NET, "-v", "%s:/data:ro" % tmp_path, "busybox", "true").out.strip()
    mounts = json.loads(d.docker("inspect", "-f", "{{json .Mounts}}", cid).out)
    assert mounts == [{"Type": "bind", "Source": str(tmp_path), "Destination": "/data", "Mode": "ro", "RW": False,
                       "Propagation": "rprivate"}]
    d.docker("rm", cid)


def test_bad_specs(d):
    # named and anonymous volumes: tests/integration/test_volumes.py
    res = run(d, "-v", "/a:/", "busybox", "true", check=False)
    assert res.returncode == 125

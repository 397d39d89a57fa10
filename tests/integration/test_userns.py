"""--userns-remap: containers whose root is an unprivileged host uid.

The daemon runs with `--userns-remap default`, which creates the dockremap
user and its /etc/subuid and /etc/subgid ranges on the host the first time,
as dockerd does (they stay, as dockerd leaves them)."""

import json
import os
import subprocess
import tarfile
import time

import pytest

NET = ["--network", "none"]


def subid_start(path, name):
    with open(path) as f:
        for line in f:
            parts = line.strip().split(":")
            if len(parts) == 3 and parts[0] == name:
                return int(parts[1])
    return None


@pytest.fixture(scope="module")
def d(tmp_path_factory, fixtures):
    from conftest import Daemon
    daemon = Daemon(str(tmp_path_factory.mktemp("berth-userns")), args=["--userns-remap", "default"])
    daemon.start()
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    yield daemon
    rc = daemon.stop()
    daemon.destroy()
    assert rc == 0


@pytest.fixture(scope="module")
def root(d):
    uid = subid_start("/etc/subuid", "dockremap")
    gid = subid_start("/etc/subgid", "dockremap")
    assert uid is not None and gid is not None, "dockremap has no subordinate ranges"
    return uid, gid


def test_info_and_maps(d, root):
    info = json.loads(d.docker("info", "--format", "{{json .SecurityOptions}}").out)
    assert "name=userns" in info
    assert not any("userns-remap" in w for w in json.loads(d.docker("info", "--format", "{{json .Warnings}}").out))
    out = d.docker("run", "--rm", *NET, "busybox", "sh", "-c", "id -u; id -g; cat /proc/self/uid_map").out.split("\n")
    assert out[0] == "0" and out[1] == "0"
    assert out[2].split() == ["0", str(root[0]), "65536"]


def test_host_sees_mapped_uid(d, root):
    cid = d.docker("run", "-d", *NET, "busybox", "sleep", "300").out.strip()
    try:
        pid = d.docker("inspect", "-f", "{{.State.Pid}}", cid).out.strip()
        with open("/proc/%s/status" % pid) as f:
            uids = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
        assert uids == [str(root[0])] * 4
        # exec runs in the same user namespace
        assert d.docker("exec", cid, "id", "-u").out.strip() == "0"
        assert d.docker("exec", "-u", "1000", cid, "id", "-u").out.strip() == "1000"
        pids = d.docker("exec", cid, "cat", "/proc/self/uid_map").out.split()
        assert pids == ["0", str(root[0]), "65536"]
    finally:
        d.docker("rm", "-f", cid)


def test_root_cannot_write_host_root_file_through_bind(d, tmp_path, root):
    host = tmp_path / "bind"
    host.mkdir()
    os.chmod(str(tmp_path), 0o755)
    secret = host / "owned-by-root"
    secret.write_text("host\n")
    os.chmod(str(secret), 0o644)
    res = d.docker("run", "--rm", *NET, "-v", "%s:/b" % host, "busybox", "sh", "-c",
                   "id -u; echo pwned > /b/owned-by-root", check=False)
    assert res.returncode != 0
    assert res.out.strip() == "0"
    assert "Permission denied" in res.err
    assert secret.read_text() == "host\n"
    # and creating files in a root-owned host directory is refused too
    res = d.docker("run", "--rm", *NET, "-v", "%s:/b" % host, "busybox", "touch", "/b/new", check=False)
    assert res.returncode != 0 and not (host / "new").exists()
    # a directory the remapped root owns is writable, and its files are the mapped uid on the host
    os.chown(str(host), root[0], root[1])
    d.docker("run", "--rm", *NET, "-v", "%s:/b" % host, "busybox", "touch", "/b/new")
    st = os.stat(str(host / "new"))
    assert (st.st_uid, st.st_gid) == root


def test_image_files_and_writable_layer(d):
    # image files owned by root show as root inside; the writable layer works
    out = d.docker("run", "--rm", *NET, "busybox", "sh", "-c",
                   "stat -c %u:%g /bin/busybox /etc; echo x > /etc/new; mkdir /d; chown 1000:1000 /d;"
                   " stat -c %u:%g /etc/new /d").out.split()
    assert out == ["0:0", "0:0", "0:0", "1000:1000"]
    # the files the daemon binds in belong to root inside too, which may edit them
    out = d.docker("run", "--rm", *NET, "busybox", "sh", "-c",
                   "echo '10.9.9.9 extra' >> /etc/hosts && stat -c %u:%g /etc/hosts /etc/hostname /etc/resolv.conf"
                   " && grep -c extra /etc/hosts").out.split()
    assert out == ["0:0", "0:0", "0:0", "1"]


def test_commit_stores_ids_as_inside(d, tmp_path):
    cid = d.docker("run", "-d", *NET, "busybox", "sh", "-c",
                   "mkdir /data; echo hi > /data/f; chown 123:45 /data/f; sleep 300").out.strip()
    try:
        d.docker("exec", cid, "test", "-f", "/data/f")
        d.docker("commit", cid, "userns-commit")
    finally:
        d.docker("rm", "-f", cid)
    out = d.docker("run", "--rm", *NET, "userns-commit", "stat", "-c", "%u:%g", "/data/f").out.strip()
    assert out == "123:45"
    # and the saved layer has the ids inside the container, not the host's
    tar = tmp_path / "img.tar"
    d.docker("save", "-o", str(tar), "userns-commit")
    owners = {}
    with tarfile.open(str(tar)) as outer:
        for m in outer.getmembers():
            if not m.isfile():
                continue
            try:
                with tarfile.open(fileobj=outer.extractfile(m)) as layer:
                    owners.update({x.name: (x.uid, x.gid) for x in layer.getmembers()})
            except tarfile.TarError:
                continue
    assert owners["data/f"] == (123, 45)
    assert all(uid < 65536 for uid, _ in owners.values())


def test_volumes_are_writable_by_root_inside(d, root):
    d.docker("volume", "create", "uv")
    try:
        d.docker("run", "--rm", *NET, "-v", "uv:/v", "busybox", "sh", "-c", "echo data > /v/f")
        assert d.docker("run", "--rm", *NET, "-v", "uv:/v", "busybox", "cat", "/v/f").out == "data\n"
        path = d.docker("volume", "inspect", "-f", "{{.Mountpoint}}", "uv").out.strip()
        st = os.stat(os.path.join(path, "f"))
        assert (st.st_uid, st.st_gid) == root
    finally:
        d.docker("volume", "rm", "uv")


def test_cp_in_and_out(d, tmp_path):
    cid = d.docker("run", "-d", *NET, "busybox", "sleep", "300").out.strip()
    try:
        src = tmp_path / "in.txt"
        src.write_text("copied\n")
        d.docker("cp", str(src), "%s:/in.txt" % cid)
        assert d.docker("exec", cid, "cat", "/in.txt").out == "copied\n"
        assert d.docker("exec", cid, "stat", "-c", "%u", "/in.txt").out.strip() == "0"
        d.docker("exec", cid, "sh", "-c", "echo out > /out.txt; chown 7:8 /out.txt")
        out = subprocess.run(["docker", "-H", "unix://" + d.sock, "cp", "%s:/out.txt" % cid, "-"],
                             capture_output=True).stdout
        listing = subprocess.run(["tar", "-tvf", "-"], input=out, capture_output=True).stdout.decode()
        assert " 7/8 " in listing
    finally:
        d.docker("rm", "-f", cid)


def test_userns_host_runs_as_host_root(d):
    out = d.docker("run", "--rm", *NET, "--userns", "host", "busybox", "cat", "/proc/self/uid_map").out.split()
    assert out == ["0", "0", "4294967295"]
    # the restrictions do not apply with --userns host
    d.docker("run", "--rm", "--userns", "host", "--privileged", "--network", "host", "--pid", "host", "busybox", "true")


def test_restrictions(d):
    cases = [
        (["--privileged"], "privileged mode is incompatible with user namespaces.  You must run the container in "
                           "the host namespace when running privileged mode"),
        (["--network", "host"], "cannot share the host's network namespace when user namespaces are enabled"),
        (["--pid", "host"], "cannot share the host PID namespace when user namespaces are enabled"),
    ]
    for args, msg in cases:
        res = d.docker("run", "--rm", *args, "busybox", "true", check=False)
        assert res.returncode == 125 and msg in res.err, (args, res.err)


def test_bad_remap_values_refuse_to_start(make_daemon):
    for value, msg in [("nosuchuser-berth", "Can't create ID mappings: Error during uid lookup for"),
                       ("nobody", "Can't create ID mappings: No subuid ranges found for user")]:
        dm = make_daemon(args=["--userns-remap", value], start=False)
        dm.start(wait=False)
        assert dm.proc.wait(timeout=60) != 0
        log = dm.read_log()
        assert msg in log and value in log, log


def test_tty_is_owned_inside(d):
    out = d.docker("run", "--rm", *NET, "-t", "busybox", "sh", "-c", "tty; stat -c %u:%g $(tty)").out.split()
    assert out == ["/dev/pts/0", "0:5"]


def test_build_runs_steps_remapped(d, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN mkdir /made && chown 42:43 /made && id -u > /made/uid\n")
    d.docker("build", "-t", "userns-built", str(tmp_path))
    out = d.docker("run", "--rm", *NET, "userns-built", "sh", "-c", "stat -c %u:%g /made; cat /made/uid").out.split()
    assert out == ["42:43", "0"]
    # and the host-userns view of the same image agrees: the layer holds the ids as inside
    out = d.docker("run", "--rm", *NET, "--userns", "host", "userns-built", "stat", "-c", "%u:%g", "/made").out
    assert out.strip() == "42:43"


def test_vfs_is_refused(make_daemon):
    dm = make_daemon(args=["--userns-remap", "default", "--storage-driver", "vfs"], start=False)
    dm.start(wait=False)
    assert dm.proc.wait(timeout=60) != 0
    assert "userns-remap needs the overlay2 storage driver" in dm.read_log()


def test_service_secret_owned_inside(d, root):
    d.docker("secret", "create", "userns_pw", "-", input=b"hunter2")
    d.docker("service", "create", "-d", "--name", "userns-reader", "--stop-grace-period", "1s",
             "--secret", "source=userns_pw,target=pw,uid=0,gid=0,mode=0400", "busybox", "sleep", "1000")
    try:
        deadline = time.time() + 30
        ids = []
        while not ids and time.time() < deadline:
            ids = d.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=userns-reader").out.split()
            time.sleep(0.2)
        assert ids, "no running task"
        # root inside reads a 0400 root secret: on the host it is the remapped root's
        assert d.docker("exec", ids[0], "cat", "/run/secrets/pw").out == "hunter2"
        assert d.docker("exec", ids[0], "stat", "-c", "%u %g %a", "/run/secrets/pw").out.strip() == "0 0 400"
    finally:
        d.docker("service", "rm", "userns-reader")
        deadline = time.time() + 30
        while d.docker("ps", "-aq", "--filter", "label=com.docker.swarm.service.name=userns-reader").out.strip() \
                and time.time() < deadline:
            time.sleep(0.2)
        d.docker("secret", "rm", "userns_pw")


def test_with_live_restore(make_daemon, fixtures, root):
    # under a monitor the container is not the daemon's child: the daemon still writes its maps
    dm = make_daemon(args=["--userns-remap", "default", "--live-restore"])
    dm.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    cid = dm.docker("run", "-d", *NET, "busybox", "sleep", "300").out.strip()
    try:
        assert dm.docker("exec", cid, "cat", "/proc/self/uid_map").out.split() == ["0", str(root[0]), "65536"]
        assert dm.docker("exec", cid, "id", "-u").out.strip() == "0"
    finally:
        dm.docker("rm", "-f", cid)

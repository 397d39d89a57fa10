"""A container's filesystem through the real CLI: docker cp both ways, the
path-stat header, export, diff and commit."""

import base64
import io
import json
import os
import tarfile
import time
import urllib.parse

import pytest

NET = ["--network", "none"]


@pytest.fixture(scope="module")
def d(daemon, fixtures):
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return daemon


def running(d, name, script="true", *extra):
    """A running container that ran script first; /ready tells it did
    (checked through the archive endpoint itself, no exec needed)."""
    d.docker("run", "-d", *NET, "--name", name, *extra, "busybox", "sh", "-c",
             script + " && touch /ready; exec sleep 1000")
    deadline = time.time() + 20
    while path_stat(d, name, "/ready")[0] != 200:
        assert time.time() < deadline, d.docker("logs", name).err
        time.sleep(0.05)
    return name


def created(d, name, *cmd):
    d.docker("create", *NET, "--name", name, "busybox", *cmd)
    return name


def path_stat(d, name, path):
    q = urllib.parse.urlencode({"path": path})
    status, headers, _ = d.request("HEAD", "/containers/%s/archive?%s" % (name, q))
    if status != 200:
        return status, None
    return status, json.loads(base64.b64decode(headers["X-Docker-Container-Path-Stat"]))


def mounted(d, cid):
    with open("/proc/self/mountinfo") as f:
        return cid in f.read()


def test_cp_out_file_and_dirs(d, tmp_path):
    running(d, "cp-out", "mkdir -p /data/sub && echo one > /data/a && echo two > /data/sub/b")
    d.docker("cp", "cp-out:/etc/passwd", str(tmp_path / "pw"))
    assert "berth:x:1000" in (tmp_path / "pw").read_text()
    d.docker("cp", "cp-out:/etc/hosts", str(tmp_path / "hosts"))
    assert "localhost" in (tmp_path / "hosts").read_text()
    # a directory, then its content only
    d.docker("cp", "cp-out:/data", str(tmp_path / "copy"))
    assert (tmp_path / "copy" / "sub" / "b").read_text() == "two\n"
    os.mkdir(tmp_path / "into")
    d.docker("cp", "cp-out:/data/.", str(tmp_path / "into"))
    assert sorted(os.listdir(tmp_path / "into")) == ["a", "sub"]
    # to stdout as a tar
    res = d.docker("cp", "cp-out:/data/a", "-")
    names = tarfile.open(fileobj=io.BytesIO(res.stdout)).getnames()
    assert names == ["a"]
    # a symlink is copied as the link, or followed with -L
    d.docker("cp", "cp-out:/bin/sh", str(tmp_path / "link"))
    assert os.readlink(tmp_path / "link") == "busybox"
    d.docker("cp", "-L", "cp-out:/bin/sh", str(tmp_path / "sh"))
    assert os.path.getsize(tmp_path / "sh") > 100000


def test_cp_out_of_stopped_container_and_root(d, tmp_path):
    created(d, "cp-stopped", "true")
    cid = d.docker("inspect", "-f", "{{.Id}}", "cp-stopped").out.strip()
    d.docker("cp", "cp-stopped:/etc", str(tmp_path / "etc"))
    assert sorted(os.listdir(tmp_path / "etc")) == ["group", "passwd"]
    d.docker("cp", "cp-stopped:/", str(tmp_path / "rootfs"))
    assert os.path.exists(tmp_path / "rootfs" / "bin" / "busybox")
    assert not mounted(d, cid), "the root mounted for the copy stays mounted"


def test_cp_missing_path(d, tmp_path):
    running(d, "cp-missing")
    res = d.docker("cp", "cp-missing:/nonexistent", str(tmp_path / "x"), check=False)
    assert res.returncode != 0
    assert "Could not find the file /nonexistent in container cp-missing" in res.err
    assert path_stat(d, "cp-missing", "/nonexistent")[0] == 404
    res = d.docker("cp", str(tmp_path), "cp-missing:/no/such/dir/", check=False)
    assert res.returncode != 0


def test_path_stat_header(d):
    running(d, "cp-stat")
    status, st = path_stat(d, "cp-stat", "/etc/passwd")
    assert status == 200
    assert st["name"] == "passwd" and st["mode"] == 0o644 and st["size"] > 0 and st["linkTarget"] == ""
    _, st = path_stat(d, "cp-stat", "/bin/sh")
    assert st["mode"] == (1 << 27) | 0o777 and st["linkTarget"] == "/bin/busybox"
    _, st = path_stat(d, "cp-stat", "/etc/")
    assert st["name"] == "etc" and st["mode"] == (1 << 31) | 0o755
    status, _, body = d.request("HEAD", "/containers/cp-stat/archive")
    assert status == 400


def test_cp_into_running_container(d, tmp_path):
    # the container itself must see what is copied in: it copies what it
    # reads to /seen, which we read back (no exec or logs needed)
    d.docker("run", "-d", *NET, "--name", "cp-in", "busybox", "sh", "-c",
             "until [ -f /tmp/tree/sub/f ] && [ -f /newtree/sub/f ]; do sleep 0.1; done; "
             "cat /hello /tmp/renamed /tmp/tree/sub/f /newtree/sub/f > /seen.tmp && mv /seen.tmp /seen; "
             "exec sleep 1000")
    (tmp_path / "hello").write_text("hello world\n")
    d.docker("cp", str(tmp_path / "hello"), "cp-in:/hello")
    d.docker("cp", str(tmp_path / "hello"), "cp-in:/tmp/renamed")
    src = tmp_path / "tree"
    os.makedirs(src / "sub")
    (src / "sub" / "f").write_text("deep\n")
    d.docker("cp", str(src), "cp-in:/tmp/")       # into an existing directory
    d.docker("cp", str(src), "cp-in:/newtree")    # as a new directory
    deadline = time.time() + 20
    while path_stat(d, "cp-in", "/seen")[0] != 200:
        assert time.time() < deadline
        time.sleep(0.05)
    d.docker("cp", "cp-in:/seen", str(tmp_path / "seen"))
    assert (tmp_path / "seen").read_text() == "hello world\nhello world\ndeep\ndeep\n"
    # a directory may not replace a file (the CLI refuses before asking us)
    res = d.docker("cp", str(src), "cp-in:/hello", check=False)
    assert res.returncode != 0


def test_cp_into_stopped_container(d, tmp_path):
    created(d, "cp-in-stopped", "sh", "-c", "cat /greeting /d/x")
    (tmp_path / "greeting").write_text("hi there\n")
    os.mkdir(tmp_path / "d")
    (tmp_path / "d" / "x").write_text("x\n")
    d.docker("cp", str(tmp_path / "greeting"), "cp-in-stopped:/")
    d.docker("cp", str(tmp_path / "d"), "cp-in-stopped:/")
    assert d.docker("start", "-a", "cp-in-stopped").out == "hi there\nx\n"


def test_cp_follows_symlinks_inside_the_container(d, tmp_path):
    running(d, "cp-links", "ln -s /etc /tmp/e && ln -s / /tmp/root && ln -s ../../../.. /tmp/up")
    (tmp_path / "dropped").write_text("in the container\n")
    d.docker("cp", str(tmp_path / "dropped"), "cp-links:/tmp/e/")
    d.docker("cp", "cp-links:/etc/dropped", str(tmp_path / "back"))
    assert (tmp_path / "back").read_text() == "in the container\n"
    assert not os.path.exists("/etc/dropped")
    # reading through links that point at "/" stays in the container's root
    d.docker("cp", "cp-links:/tmp/root/etc/passwd", str(tmp_path / "pw1"))
    d.docker("cp", "cp-links:/tmp/up/etc/passwd", str(tmp_path / "pw2"))
    for p in ("pw1", "pw2"):
        assert "berth:x:1000" in (tmp_path / p).read_text()


def test_cp_no_overwrite_dir_with_file(d, tmp_path):
    running(d, "cp-clash")
    os.mkdir(tmp_path / "src")
    (tmp_path / "src" / "tmp").write_text("not a dir\n")
    res = d.docker("cp", str(tmp_path / "src" / "tmp"), "cp-clash:/", check=False)
    assert res.returncode != 0 and "cannot overwrite directory" in res.err
    assert path_stat(d, "cp-clash", "/tmp")[1]["mode"] & (1 << 31)


def test_cp_into_read_only_container(d, tmp_path):
    d.docker("run", "-d", *NET, "--name", "cp-ro", "--read-only", "busybox", "sleep", "1000")
    (tmp_path / "f").write_text("x")
    res = d.docker("cp", str(tmp_path / "f"), "cp-ro:/tmp/", check=False)
    assert res.returncode != 0 and "container rootfs is marked read-only" in res.err
    # reading is fine
    d.docker("cp", "cp-ro:/etc/passwd", str(tmp_path / "pw"))


def test_export(d, tmp_path):
    running(d, "exp", "echo exported > /marker && rm /etc/group")
    res = d.docker("export", "exp")
    tf = tarfile.open(fileobj=io.BytesIO(res.stdout))
    names = tf.getnames()
    assert "bin/busybox" in names and "etc/passwd" in names and "marker" in names
    assert "etc/group" not in names
    assert not any(n.startswith("/") or n.startswith("./") for n in names)
    assert tf.extractfile("marker").read() == b"exported\n"
    # of a stopped container, to a file
    d.docker("stop", "-t", "0", "exp")
    d.docker("export", "-o", str(tmp_path / "exp.tar"), "exp")
    with tarfile.open(tmp_path / "exp.tar") as tf:
        assert "marker" in tf.getnames()


def test_diff(d):
    d.docker("run", "-d", *NET, "--name", "diff0", "busybox", "sleep", "1000")
    assert d.docker("diff", "diff0").out == ""   # the runtime's mount targets are not changes
    running(d, "diff1", "touch /etc/passwd && rm /etc/group && mkdir /newdir && touch /newdir/f")
    lines = d.docker("diff", "diff1").out.splitlines()
    assert lines == ["C /etc", "D /etc/group", "C /etc/passwd", "A /newdir", "A /newdir/f", "A /ready"]
    changes = d.json("GET", "/containers/diff1/changes")
    assert {"Path": "/etc/group", "Kind": 2} in changes and {"Path": "/newdir", "Kind": 1} in changes
    # stopped: read from the writable layer all the same
    d.docker("stop", "-t", "0", "diff1")
    assert sorted(d.docker("diff", "diff1").out.splitlines()) == sorted(lines)


def test_commit_and_run(d):
    created(d, "com1", "sh", "-c", "echo committed > /hello")
    d.docker("start", "-a", "com1")
    out = d.docker("commit", "--change", 'CMD ["cat","/hello"]', "-m", "a message", "-a", "someone",
                   "com1", "committed:v1").out.strip()
    assert out.startswith("sha256:")
    assert d.docker("run", "--rm", *NET, "committed:v1").out == "committed\n"
    img = json.loads(d.docker("image", "inspect", "committed:v1").out)[0]
    base = json.loads(d.docker("image", "inspect", "busybox").out)[0]
    assert img["Id"] == out and img["Author"] == "someone"
    assert img["Config"]["Cmd"] == ["cat", "/hello"]
    assert img["Parent"] == base["Id"]
    assert img["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"]
    assert len(img["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 1
    hist = d.docker("history", "--format", "{{.Comment}}|{{.CreatedBy}}", "--no-trunc", "committed:v1").out
    assert hist.splitlines()[0] == "a message|sh -c echo committed > /hello"
    # the new layer carries no bind-mount targets
    assert d.docker("run", "--rm", *NET, "--entrypoint", "ls", "committed:v1", "/etc").out.split() == \
        ["group", "hostname", "hosts", "passwd", "resolv.conf"]
    assert "A /etc/hosts" not in d.docker("diff", "com1").out


def test_commit_without_changes_adds_no_layer(d):
    created(d, "com-empty", "true")
    d.docker("commit", "com-empty", "empty:latest")
    img = json.loads(d.docker("image", "inspect", "empty").out)[0]
    base = json.loads(d.docker("image", "inspect", "busybox").out)[0]
    assert img["RootFS"]["Layers"] == base["RootFS"]["Layers"]
    assert img["Size"] == base["Size"]


def test_commit_running_container_pauses_it(d):
    running(d, "com-run", "echo live > /live")
    cid = d.docker("inspect", "-f", "{{.Id}}", "com-run").out.strip()
    since = str(time.time() - 1)
    image = d.docker("commit", "com-run", "live:1").out.strip()
    until = str(time.time() + 1)
    assert d.docker("inspect", "-f", "{{.State.Status}}", "com-run").out.strip() == "running"
    assert d.docker("run", "--rm", *NET, "live:1", "cat", "/live").out == "live\n"
    events = d.docker("events", "--since", since, "--until", until, "--filter", "container=" + cid,
                      "--format", "{{.Action}} {{index .Actor.Attributes \"imageID\"}}").out.split()
    assert events[-4:] == ["pause", "unpause", "commit", image], events
    # without pausing
    d.docker("commit", "--pause=false", "com-run", "live:2")
    assert d.docker("run", "--rm", *NET, "live:2", "cat", "/live").out == "live\n"


def test_commit_errors(d):
    created(d, "com-err", "true")
    res = d.docker("commit", "nosuch", check=False)
    assert res.returncode != 0 and "No such container: nosuch" in res.err
    res = d.docker("commit", "--change", "FROB x", "com-err", check=False)
    assert res.returncode != 0 and "FROB is not a valid change command" in res.err
    status, _, body = d.request("POST", "/commit?container=com-err&repo=x&tag=bad:tag")
    assert status == 400
    status, _, body = d.request("POST", "/commit?container=com-err&repo=x@sha256:" + "a" * 64)
    assert status == 400 and b"cannot commit to digest reference" in body
    # a config in the body is the starting point, merged with the container's
    status, _, body = d.request("POST", "/commit?container=com-err&repo=fromapi",
                                body=json.dumps({"Env": ["EXTRA=1"], "Labels": {"k": "v"}}),
                                headers={"Content-Type": "application/json"})
    assert status == 201, body
    img = json.loads(d.docker("image", "inspect", "fromapi").out)[0]
    assert "EXTRA=1" in img["Config"]["Env"] and any(e.startswith("PATH=") for e in img["Config"]["Env"])
    assert img["Config"]["Labels"] == {"k": "v"} and img["Config"]["Cmd"] == ["true"]

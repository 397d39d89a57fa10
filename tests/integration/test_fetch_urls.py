"""URLs the daemon fetches itself: `docker import <url>`, ADD <url> in a
Dockerfile, and docker-py's remote build contexts (remote=: a tar, a
Dockerfile or a git repository), against an HTTP server inside the
daemon's own network namespace."""

import io
import os
import subprocess
import tarfile
import time

import pytest

from test_build import assert_cleaned_up, build, dockerfile_tar, loaded, send_build, write  # noqa: F401

# A fixed Last-Modified, so ADD's mtime can be checked
LAST_MODIFIED = "Tue, 01 Sep 2020 12:00:00 GMT"
SERVER = r'''
import http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    def date_time_string(self, timestamp=None):
        return "%s"
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
''' % LAST_MODIFIED


@pytest.fixture(scope="module")
def web(loaded, tmp_path_factory):
    """Files served at http://127.0.0.1:<port>/ in the daemon's namespace."""
    root = tmp_path_factory.mktemp("www")
    script = root / "server.py"
    script.write_text(SERVER)
    port = 18000 + os.getpid() % 1000
    p = subprocess.Popen(["nsenter", "--net=/run/netns/" + loaded.netns, "/usr/bin/python3", str(script),
                          str(port)], cwd=str(root))
    url = "http://127.0.0.1:%d" % port
    deadline = time.time() + 10
    while loaded.netns_run("curl", "-s", "-o", "/dev/null", url + "/server.py", check=False).returncode != 0:
        assert time.time() < deadline, "the test's HTTP server did not start"
        time.sleep(0.05)
    yield root, url
    p.kill()
    p.wait()


def rootfs_tar(files):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as t:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text)
            info.mode = 0o755
            t.addfile(info, io.BytesIO(text))
    return data.getvalue()


def test_import_from_url(loaded, web):
    root, url = web
    (root / "rootfs.tar").write_bytes(rootfs_tar({"hello.txt": b"imported\n"}))
    out = loaded.docker("import", "-c", "CMD [\"/hello.txt\"]", url + "/rootfs.tar", "imp:url").out.strip()
    assert out.startswith("sha256:")
    info = loaded.client().images.get("imp:url")
    assert info.history()[0]["Comment"] == "Imported from %s/rootfs.tar" % url
    assert info.attrs["Config"]["Cmd"] == ["/hello.txt"]
    # the archive's file is the image's
    cid = loaded.docker("create", "imp:url").out.strip()
    got = loaded.docker("cp", cid + ":/hello.txt", "-").out
    loaded.docker("rm", cid)
    assert "imported" in got
    # dockerd's words for a missing file, and nothing left behind
    res = loaded.docker("import", url + "/missing.tar", "imp:missing", check=False)
    assert res.returncode != 0
    assert "failed to GET %s/missing.tar with status 404" % url in res.err
    assert not [n for n in os.listdir(os.path.join(loaded.data_root, "tmp")) if n.startswith("import-")]


def test_add_url(loaded, web, tmp_path):
    root, url = web
    (root / "note.txt").write_text("fetched by ADD\n")
    (root / "pack.tar").write_bytes(rootfs_tar({"inside": b"x"}))
    write(tmp_path, {"Dockerfile": "FROM busybox\n"
                                   "ADD %s/note.txt /fetched/\n"
                                   "ADD %s/pack.tar?v=1 /pack.tar\n"
                                   "ADD %s/note.txt local.txt /both/\n"
                                   "RUN stat -c '%%a %%u %%Y' /fetched/note.txt && cat /both/note.txt\n"
                                   % (url, url, url),
                     "local.txt": "from the context\n"})
    res = build(loaded, tmp_path, "-t", "addurl:1")
    assert "fetched by ADD" in res.out
    # mode 0600, root's, its Last-Modified as mtime (2020-09-01 12:00:00 UTC)
    assert "600 0 1598961600" in res.out
    files = loaded.docker("run", "--rm", "addurl:1", "sh", "-c",
                          "ls /pack.tar /both && cat /both/local.txt").out.split()
    # a fetched archive stays an archive; URL and local sources mix
    assert files == ["/pack.tar", "/both:", "local.txt", "note.txt", "from", "the", "context"], files
    again = build(loaded, tmp_path, "-t", "addurl:1").out
    assert again.count(" ---> Using cache") == 4, again
    # a changed file at the URL busts the cache from its ADD on
    (root / "note.txt").write_text("changed\n")
    changed = build(loaded, tmp_path, "-t", "addurl:1").out
    assert "changed" in changed and changed.count(" ---> Using cache") == 0, changed


def test_add_url_errors(loaded, web, tmp_path):
    root, url = web
    write(tmp_path, {"Dockerfile": "FROM busybox\nADD %s/nothing-here /x\n" % url})
    res = build(loaded, tmp_path, check=False)
    assert res.returncode != 0
    assert "failed to GET %s/nothing-here with status 404" % url in res.err
    write(tmp_path, {"Dockerfile": "FROM busybox\nADD %s/ /x\n" % url})
    res = build(loaded, tmp_path, check=False)
    assert res.returncode != 0 and "cannot determine filename from url" in res.err
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY %s/note.txt /x\n" % url})
    res = build(loaded, tmp_path, check=False)
    assert res.returncode != 0 and "source can't be a URL for COPY" in res.err


HANG = r'''
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
held = []
while True:
    c, _ = s.accept()
    held.append(c)   # never answers
'''


def test_client_leaving_stops_a_download(loaded, tmp_path):
    """An ADD whose server never answers: the client leaving ends the build,
    its download and its files."""
    script = tmp_path / "hang.py"
    script.write_text(HANG)
    port = 19000 + os.getpid() % 1000
    p = subprocess.Popen(["nsenter", "--net=/run/netns/" + loaded.netns, "/usr/bin/python3", str(script), str(port)])
    try:
        deadline = time.time() + 10
        while loaded.netns_run("sh", "-c", "ss -ltn | grep -q :%d" % port, check=False).returncode != 0:
            assert time.time() < deadline
            time.sleep(0.05)
        body = dockerfile_tar(b"FROM busybox\nADD http://127.0.0.1:%d/slow.bin /slow\n" % port)
        before = set(loaded.docker("ps", "-aq").out.split())
        s = send_build(loaded, body)
        got = b""
        deadline = time.time() + 30
        while b"Step 2/2" not in got and time.time() < deadline:
            got += s.recv(4096)
        assert b"Step 2/2" in got
        time.sleep(0.3)   # the download is under way
        s.close()
        assert_cleaned_up(loaded, before)
    finally:
        p.kill()
        p.wait()


def test_remote_context_docker_py(loaded, web):
    root, url = web
    (root / "Dockerfile.remote").write_text("FROM busybox\nRUN echo built-from-a-url > /r\n")
    (root / "ctx.tar").write_bytes(rootfs_tar({"Dockerfile": b"FROM busybox\nCOPY data /data\n",
                                               "data": b"in the remote tar\n"}))
    client = loaded.client()
    img, _ = client.images.build(path=url + "/Dockerfile.remote", tag="remote:df", nocache=True)
    assert client.containers.run("remote:df", "cat /r", remove=True) == b"built-from-a-url\n"
    img, _ = client.images.build(path=url + "/ctx.tar", tag="remote:tar")
    assert client.containers.run("remote:tar", "cat /data", remove=True) == b"in the remote tar\n"
    import docker
    with pytest.raises(docker.errors.NotFound) as err:
        client.images.build(path=url + "/absent.tar")
    assert "failed to GET %s/absent.tar with status 404" % url in str(err.value)
    assert not [n for n in os.listdir(os.path.join(loaded.data_root, "tmp")) if n.startswith("remote-")]


def test_remote_git_repository(loaded, web, tmp_path):
    """docker-py's path="<url>.git#ref:dir": cloned by the daemon with the
    host's git (a full clone from a dumb HTTP server, which cannot serve a
    shallow one), built without its .git."""
    root, url = web
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "Dockerfile").write_text("FROM busybox\nCOPY . /ctx\n")
    (src / "sub" / "Dockerfile").write_text("FROM busybox\nCOPY x /x\n")
    (src / "sub" / "x").write_text("from the sub directory at v1\n")
    git = ["git", "-C", str(src), "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "one"], check=True)
    subprocess.run(git + ["tag", "v1"], check=True)
    (src / "sub" / "x").write_text("changed after v1\n")
    subprocess.run(git + ["commit", "-qam", "two"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(root / "repo.git")], check=True)
    subprocess.run(["git", "-C", str(root / "repo.git"), "update-server-info"], check=True)
    client = loaded.client()
    client.images.build(path=url + "/repo.git", tag="git:main", nocache=True)
    assert client.containers.run("git:main", "ls -a /ctx", remove=True).split() == [
        b".", b"..", b"Dockerfile", b"sub"]
    client.images.build(path=url + "/repo.git#v1:sub", tag="git:v1")
    assert client.containers.run("git:v1", "cat /x", remove=True) == b"from the sub directory at v1\n"
    import docker
    with pytest.raises(docker.errors.APIError) as err:
        client.images.build(path=url + "/absent.git")
    assert "unable to 'git clone'" in str(err.value)
    with pytest.raises(docker.errors.NotFound) as err:
        client.images.build(path=url + "/repo.git#main:missing")
    assert "path missing not found" in str(err.value)
    with pytest.raises(docker.errors.APIError) as err:
        client.images.build(path=url + "/repo.git#main:../..")
    assert err.value.status_code == 400
    assert not [n for n in os.listdir(os.path.join(loaded.data_root, "tmp")) if n.startswith("git-")]

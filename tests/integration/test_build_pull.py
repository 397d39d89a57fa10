"""docker build of a Dockerfile whose FROM image is only in a registry:
the builder pulls it (its progress in the build's output, as dockerd's
classic builder shows it), with the credentials the CLI sends in
X-Registry-Config; --pull pulls every FROM image even when it is here."""

import os

import pytest

from test_registry import REGISTRY, daemon_with_registries, hanging_registry, push_only, stop_daemon

pytestmark = pytest.mark.skipif(not os.path.exists(REGISTRY), reason="docker-registry is not installed")


@pytest.fixture(scope="module")
def breg(tmp_path_factory, fixtures):
    d, plain, private = daemon_with_registries(tmp_path_factory, fixtures, "berth-build-pull")
    yield d, plain, private
    stop_daemon(d, private, plain)


def build(d, tmp_path, dockerfile, *args, check=True):
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    return d.docker("build", *args, str(ctx), check=check, timeout=180)


def test_from_image_in_registry_is_pulled(breg, tmp_path):
    d, r, _ = breg
    base = r.addr + "/base:1"
    push_only(d, base, "from-registry")
    res = build(d, tmp_path, "FROM %s\nRUN cat /marker\n" % base, "-t", "onbase:1")
    assert "Step 1/2 : FROM " + base in res.out, res.out
    assert "Pulling from base" in res.out and "Status: Downloaded newer image for " + base in res.out, res.out
    assert "from-registry" in res.out
    assert d.docker("image", "inspect", base).returncode == 0
    # Here now: the next build does not pull; with --pull it asks again.
    again = build(d, tmp_path, "FROM %s\nRUN cat /marker\n" % base)
    assert "Pulling from" not in again.out and "Using cache" in again.out, again.out
    pulled = build(d, tmp_path, "FROM %s\nRUN cat /marker\n" % base, "--pull")
    assert "Status: Image is up to date for " + base in pulled.out, pulled.out
    # -q prints the ID alone.
    quiet = build(d, tmp_path, "FROM %s\nRUN cat /marker\n" % base, "-q", "--pull")
    assert quiet.out.strip().startswith("sha256:") and "Pulling" not in quiet.out, quiet.out


def test_missing_from_image_fails_with_registry_error(breg, tmp_path):
    d, r, _ = breg
    res = build(d, tmp_path, "FROM %s/base:nope\n" % r.addr, check=False)
    assert res.returncode != 0
    assert "manifest unknown" in res.err or "manifest unknown" in res.out, (res.out, res.err)


def test_from_private_registry_with_login(breg, tmp_path):
    d, _, p = breg
    d.docker("login", "-u", "alice", "--password-stdin", p.addr, input=b"s3cret\n")
    base = p.addr + "/privbase:1"
    push_only(d, base, "private-base")
    res = build(d, tmp_path, "FROM %s\nRUN cat /marker\n" % base)
    assert "private-base" in res.out, res.out
    d.docker("rmi", "-f", base)
    d.docker("logout", p.addr)
    res = build(d, tmp_path, "FROM %s\nRUN cat /marker\n" % base, "--no-cache", check=False)
    assert res.returncode != 0
    assert "no basic auth credentials" in res.err or "unauthorized" in res.err, (res.out, res.err)


def test_docker_py_build_with_pull(breg, tmp_path):
    d, r, _ = breg
    base = r.addr + "/pybase:1"
    push_only(d, base, "py-base")
    ctx = tmp_path / "py"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM %s\nRUN cat /marker\n" % base)
    lines = list(d.client().api.build(path=str(ctx), pull=True, decode=True, tag="pybuilt:1"))
    statuses = [l.get("status", "") for l in lines]
    assert any(s.startswith("Status: Downloaded newer image for ") for s in statuses), lines
    assert any("py-base" in l.get("stream", "") for l in lines), lines
    assert d.docker("image", "inspect", "pybuilt:1").returncode == 0


def test_build_stopped_while_its_from_image_is_pulled(breg):
    """A registry that never answers: the build waits in its FROM's pull;
    POST /build/cancel ends it with dockerd's error, and a client that
    leaves ends it too, leaving no build directory behind."""
    import json
    import time
    from test_build import _raw_post, _read_reply, dockerfile_tar
    d, _, _ = breg
    with hanging_registry(d, 5003):
        body = dockerfile_tar(b"FROM 127.0.0.1:5003/slow:1\nRUN true\n")

        def started(s):
            got = b""
            deadline = time.time() + 30
            while b"Step 1/2" not in got and time.time() < deadline:
                got += s.recv(4096)
            assert b"Step 1/2" in got, got
            return got

        s = _raw_post(d.sock, "/v1.47/build?buildid=pulling", body)
        got = started(s)
        assert _read_reply(_raw_post(d.sock, "/v1.47/build/cancel?id=pulling")) == (200, b"")
        s.settimeout(15)
        while not got.endswith(b"0\r\n\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        s.close()
        lines = [json.loads(l) for chunk in got.split(b"\r\n") for l in chunk.split(b"\n") if l.startswith(b"{")]
        assert lines[-1].get("error") == "Build cancelled", lines
        # The client leaves mid-pull.
        s = _raw_post(d.sock, "/v1.47/build", body)
        started(s)
        s.close()
        tmp = os.path.join(d.data_root, "tmp")
        deadline = time.time() + 10
        while [n for n in os.listdir(tmp) if n.startswith("build-")] and time.time() < deadline:
            time.sleep(0.2)
        assert [n for n in os.listdir(tmp) if n.startswith("build-")] == []
        assert d.docker("version").returncode == 0


def test_stages_pulling_their_bases(breg, tmp_path):
    """Two stages whose bases are only in the registry, and a third on the
    second's base: each base pulled once, its progress in the stream where
    a sequential build prints it (a later stage pulls only once it is the
    earliest running, since a pull's progress goes straight to the stream)."""
    d, r, _ = breg
    one, two = r.addr + "/stage-one:1", r.addr + "/stage-two:1"
    push_only(d, one, "base-one")
    push_only(d, two, "base-two")
    res = build(d, tmp_path, "FROM %s AS a\nRUN cat /marker\nFROM %s AS b\nRUN cat /marker\n"
                             "FROM %s\nCOPY --from=a /marker /a\nRUN cat /a /marker\n" % (one, two, two))
    out = res.out
    assert out.count("Pulling from stage-one") == 1 and out.count("Pulling from stage-two") == 1, out
    assert (out.index("Step 1/7") < out.index("Pulling from stage-one") < out.index("base-one") <
            out.index("Step 3/7") < out.index("Pulling from stage-two") < out.index("Step 4/7")), out
    assert "base-one\nbase-two" in out, out

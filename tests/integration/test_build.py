"""docker build through the classic /build API: the docker CLI (28, no
buildx: the legacy builder) and docker-py, against the busybox fixture."""

import json
import os

import pytest


@pytest.fixture(scope="module")
def loaded(daemon, fixtures):
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return daemon


def write(ctx, files):
    for name, text in files.items():
        path = os.path.join(str(ctx), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


def build(d, ctx, *args, check=True):
    return d.docker("build", *args, str(ctx), check=check, timeout=180)


def dockerfile_tar(df):
    """A build context (tar bytes) holding only this Dockerfile."""
    import io
    import tarfile
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as t:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(df)
        t.addfile(info, io.BytesIO(df))
    return data.getvalue()


def inspect(d, ref):
    return json.loads(d.docker("image", "inspect", ref).out)[0]


def test_instructions_and_config(loaded, tmp_path):
    write(tmp_path, {
        "Dockerfile": "\n".join([
            "FROM busybox",
            "ARG GREETING=hello",
            "ENV APP=/app PATH=/app/bin:$PATH",
            "LABEL org.test.name=\"demo app\" version=${GREETING}",
            "WORKDIR $APP",
            "COPY hello.txt ./",
            "COPY sub/ dir/",
            "RUN echo \"$GREETING from run\" > run.txt && \\",
            "    cat hello.txt",
            "USER 1000:1000",
            "EXPOSE 8080 53/udp",
            "VOLUME /data",
            "STOPSIGNAL SIGINT",
            "HEALTHCHECK --interval=5s --retries=2 CMD true",
            "ENTRYPOINT [\"/bin/sh\", \"-c\"]",
            "CMD [\"cat run.txt\"]",
            "",
        ]),
        "hello.txt": "hello file\n",
        "sub/a.txt": "a\n",
        "sub/deep/b.txt": "b\n",
    })
    res = build(loaded, tmp_path, "-t", "built:one")
    assert "Step 1/15 : FROM busybox" in res.out
    assert "hello file" in res.out
    assert " ---> Running in " in res.out
    assert "Successfully built " in res.out
    assert "Successfully tagged built:one" in res.out
    cfg = inspect(loaded, "built:one")["Config"]
    assert cfg["WorkingDir"] == "/app"
    assert "APP=/app" in cfg["Env"]
    assert any(e.startswith("PATH=/app/bin:/") for e in cfg["Env"])
    assert cfg["Labels"] == {"org.test.name": "demo app", "version": "hello"}
    assert cfg["User"] == "1000:1000"
    assert set(cfg["ExposedPorts"]) == {"8080/tcp", "53/udp"}
    assert list(cfg["Volumes"]) == ["/data"]
    assert cfg["StopSignal"] == "SIGINT"
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5000000000, "Retries": 2}
    assert cfg["Entrypoint"] == ["/bin/sh", "-c"]
    assert cfg["Cmd"] == ["cat run.txt"]
    out = loaded.docker("run", "--rm", "built:one").out
    assert out == "hello from run\n"
    out = loaded.docker("run", "--rm", "--entrypoint", "", "built:one", "cat", "/app/dir/a.txt",
                        "/app/dir/deep/b.txt").out
    assert out == "a\nb\n"
    hist = loaded.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "built:one").out
    assert "/bin/sh -c echo \"$GREETING from run\" > run.txt &&     cat hello.txt" in hist
    # no intermediate container is left
    assert loaded.docker("ps", "-aq").out.strip() == ""


def test_cache_and_bust(loaded, tmp_path):
    write(tmp_path, {
        "Dockerfile": "FROM busybox\nENV A=1\nCOPY f.txt /f.txt\nRUN cat /f.txt > /g.txt\nCMD [\"cat\", \"/g.txt\"]\n",
        "f.txt": "one\n",
    })
    first = build(loaded, tmp_path, "-t", "cached:1")
    assert "Using cache" not in first.out
    second = build(loaded, tmp_path, "-t", "cached:2")
    assert second.out.count(" ---> Using cache") == 4
    assert inspect(loaded, "cached:1")["Id"] == inspect(loaded, "cached:2")["Id"]
    write(tmp_path, {"f.txt": "two\n"})
    third = build(loaded, tmp_path, "-t", "cached:3")
    # ENV from cache; COPY and everything after it rebuilt
    assert third.out.count(" ---> Using cache") == 1
    assert loaded.docker("run", "--rm", "cached:3").out == "two\n"
    nocache = build(loaded, tmp_path, "--no-cache", "-t", "cached:4")
    assert "Using cache" not in nocache.out
    assert "Using cache" in build(loaded, tmp_path).out
    # records of images made in the last hour are kept by until=1h
    loaded.docker("builder", "prune", "-f", "--filter", "until=1h")
    assert "Using cache" in build(loaded, tmp_path).out
    # the records hold no bytes: any storage to keep keeps them all
    loaded.docker("builder", "prune", "-f", "--keep-storage", "1mb")
    # BuildKit's filters as they read for these records
    for keeps in ("type=exec.cachemount", "inuse=true", "shared=true", "private=false", "id=ffffffff",
                  "description=no-such-step"):
        loaded.docker("builder", "prune", "-f", "--filter", keeps)
    assert build(loaded, tmp_path).out.count(" ---> Using cache") == 4
    bad = loaded.docker("builder", "prune", "-f", "--filter", "inuse=maybe", check=False)
    assert bad.returncode != 0 and "invalid filter 'inuse=maybe'" in bad.err
    # description: the step's history line; only the RUN's records go (one per
    # parent the RUN had in the builds above), no ENV, COPY or CMD
    out = loaded.docker("builder", "prune", "-f", "--filter", "description=cat /f.txt > /g.txt").out
    assert 1 <= len([l for l in out.splitlines() if len(l) == 64]) <= 3, out
    # ENV and COPY from the cache, the RUN made again (and the rest after it)
    assert build(loaded, tmp_path).out.count(" ---> Using cache") == 2
    out = loaded.docker("builder", "prune", "-f", "--filter", "type=regular", "--filter", "private=true").out
    assert "Total reclaimed space" in out
    assert "Using cache" not in build(loaded, tmp_path).out


def test_failing_run(loaded, tmp_path):
    write(tmp_path, {"Dockerfile": "FROM busybox\nRUN echo before\nRUN exit 3\nRUN echo never\n"})
    res = build(loaded, tmp_path, check=False)
    assert res.returncode == 3   # the CLI exits with errorDetail's code
    assert "The command '/bin/sh -c exit 3' returned a non-zero code: 3" in res.err + res.out
    assert "never" not in res.out
    # --rm (the default) keeps the failed step's container, --force-rm does not
    left = loaded.docker("ps", "-aq").out.split()
    assert len(left) == 1
    loaded.docker("rm", *left)
    res = build(loaded, tmp_path, "--force-rm", check=False)
    assert res.returncode != 0
    assert loaded.docker("ps", "-aq").out.strip() == ""


def test_multistage_target_and_copy_from(loaded, tmp_path):
    write(tmp_path, {
        "Dockerfile": "\n".join([
            "ARG BASE=busybox",
            "FROM $BASE AS builder",
            "RUN mkdir -p /out && echo built > /out/artifact",
            "FROM busybox AS second",
            "COPY --from=builder /out/artifact /artifact",
            "RUN cat /artifact",
            "FROM busybox",
            "COPY --from=second /artifact /final",
            "COPY --from=0 /out/artifact /zero",
            "COPY --from=busybox:latest /bin/busybox /bb-from-image",
            "",
        ]),
    })
    build(loaded, tmp_path, "-t", "multi:final")
    assert loaded.docker("run", "--rm", "multi:final", "cat", "/final", "/zero").out == "built\nbuilt\n"
    assert loaded.docker("run", "--rm", "multi:final", "test", "-x", "/bb-from-image", check=False).returncode == 0
    res = build(loaded, tmp_path, "--target", "second", "-t", "multi:second")
    assert "COPY --from=second" not in res.out
    assert loaded.docker("run", "--rm", "multi:second", "cat", "/artifact").out == "built\n"
    bad = build(loaded, tmp_path, "--target", "nope", check=False)
    assert bad.returncode != 0
    assert "failed to reach build target nope in Dockerfile" in bad.err


def test_dockerignore_and_build_args(loaded, tmp_path):
    write(tmp_path, {
        "Dockerfile": "FROM busybox\nARG WHO\nCOPY . /ctx/\nRUN echo \"hi $WHO\" && ls -R /ctx | sort\n",
        ".dockerignore": "*.log\n!keep.log\nsecret/\nDockerfile\n.dockerignore\n",
        "a.log": "x",
        "keep.log": "y",
        "secret/key": "z",
        "src/main.c": "int main;",
    })
    res = build(loaded, tmp_path, "--build-arg", "WHO=tester", "--build-arg", "UNUSED=1", "-t", "ign:1")
    assert "hi tester" in res.out
    assert "[Warning] One or more build-args [UNUSED] were not consumed" in res.out
    hist = loaded.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "ign:1").out.splitlines()
    assert hist[0].startswith("|1 WHO=tester /bin/sh -c echo \"hi $WHO\"")
    files = loaded.docker("run", "--rm", "ign:1", "find", "/ctx", "-type", "f").out.split()
    assert "/ctx/keep.log" in files and "/ctx/src/main.c" in files
    assert "/ctx/a.log" not in files and "/ctx/secret/key" not in files
    assert "/ctx/Dockerfile" not in files and "/ctx/.dockerignore" not in files


def test_quiet_iidfile_and_labels(loaded, tmp_path):
    write(tmp_path, {"Dockerfile": "FROM busybox\nLABEL a=b\n"})
    iid = os.path.join(str(tmp_path), "iid")
    res = build(loaded, tmp_path, "-q", "--iidfile", iid, "--label", "extra=yes")
    out = res.out.strip()
    assert out.startswith("sha256:") and len(out) == 71
    assert open(iid).read().strip() == out
    labels = inspect(loaded, out)["Config"]["Labels"]
    assert labels == {"a": "b", "extra": "yes"}


def test_add_archive_and_bad_input(loaded, tmp_path):
    import tarfile
    src = tmp_path / "payload"
    src.mkdir()
    (src / "inner.txt").write_text("from the tar\n")
    with tarfile.open(str(tmp_path / "p.tar.gz"), "w:gz") as t:
        t.add(str(src / "inner.txt"), arcname="pkg/inner.txt")
    write(tmp_path, {"Dockerfile": "FROM busybox\nADD p.tar.gz /opt/\nCOPY --chown=7:8 Dockerfile /df\n"
                                   "COPY --chown=berth Dockerfile /named\nCOPY --chown=berth:nogroup Dockerfile /n2\n"})
    build(loaded, tmp_path, "-t", "added:1")
    out = loaded.docker("run", "--rm", "added:1", "sh", "-c",
                        "cat /opt/pkg/inner.txt; stat -c %u:%g /df /named /n2").out
    assert out == "from the tar\n7:8\n1000:1000\n1000:65534\n"
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY --chown=nosuchuser Dockerfile /x\n"})
    res = build(loaded, tmp_path, check=False)
    assert "no such user: nosuchuser" in res.err
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY ../outside /x\n"})
    res = build(loaded, tmp_path, check=False)
    assert res.returncode != 0 and "outside the build context" in res.err
    write(tmp_path, {"Dockerfile": "FROM busybox\nBOGUS x\n"})
    res = build(loaded, tmp_path, check=False)
    assert "dockerfile parse error on line 2: unknown instruction: BOGUS" in res.err
    write(tmp_path, {"Dockerfile": "FROM no-such-image\n"})
    res = build(loaded, tmp_path, check=False)
    # not here: the builder pulls it from Docker Hub, out of reach in the test's namespace
    assert res.returncode != 0 and 'Get "https://registry-1.docker.io/v2/"' in res.err, res.err
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY --chmod=755 Dockerfile /x\n"})
    res = build(loaded, tmp_path, check=False)
    assert "requires BuildKit" in res.err


def test_docker_py_build(loaded, tmp_path):
    write(tmp_path, {"Dockerfile": "FROM busybox\nRUN echo py > /py.txt\nCMD [\"cat\", \"/py.txt\"]\n"})
    client = loaded.client()
    img, logs = client.images.build(path=str(tmp_path), tag="py:built", rm=True)
    lines = "".join(l.get("stream", "") for l in logs)
    assert "Successfully tagged py:built" in lines
    assert client.containers.run("py:built", remove=True) == b"py\n"
    with pytest.raises(Exception) as ei:
        client.images.build(path=str(tmp_path), dockerfile="Missing.dockerfile")
    assert "Cannot locate specified Dockerfile" in str(ei.value)
    res = client.api.prune_builds()
    assert "SpaceReclaimed" in res


def test_intermediates_hidden_and_history(loaded, tmp_path):
    write(tmp_path, {"Dockerfile": "FROM busybox\nMAINTAINER Jane Doe <jane@example.com>\nENV X=1\n"
                                   "WORKDIR /w/deep\nWORKDIR /w\nRUN touch /made\n"})
    build(loaded, tmp_path, "-t", "hist:1")
    # WORKDIR makes a missing directory as a layer, an existing one adds none
    layers = inspect(loaded, "hist:1")["RootFS"]["Layers"]
    assert len(layers) == len(inspect(loaded, "busybox")["RootFS"]["Layers"]) + 2
    out = loaded.docker("run", "--rm", "--entrypoint", "", "hist:1", "stat", "-c", "%a %u", "/w/deep").out
    assert out == "755 0\n"
    assert inspect(loaded, "hist:1")["Author"] == "Jane Doe <jane@example.com>"
    top = loaded.docker("images", "-q", "--no-trunc").out.split()
    every = loaded.docker("images", "-aq", "--no-trunc").out.split()
    parent = inspect(loaded, "hist:1")["Parent"]
    assert parent and parent in every and parent not in top
    hist = loaded.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "hist:1").out.splitlines()
    assert hist[0] == "/bin/sh -c touch /made"
    assert hist[1] == "/bin/sh -c #(nop)  WORKDIR /w"
    assert hist[3] == "/bin/sh -c #(nop)  ENV X=1"
    assert hist[4] == "/bin/sh -c #(nop)  MAINTAINER Jane Doe <jane@example.com>"


def test_onbuild_network_none_and_extra_hosts(loaded, tmp_path):
    write(tmp_path, {"Dockerfile": "FROM busybox\nONBUILD RUN echo triggered > /trig\n"})
    build(loaded, tmp_path, "-t", "onbuild:base")
    write(tmp_path, {"Dockerfile": "FROM onbuild:base\nRUN cat /trig\n"
                                   "RUN ip link | grep -c ': eth' || true\nRUN grep myhost /etc/hosts\n"})
    res = build(loaded, tmp_path, "--network", "none", "--add-host", "myhost:10.1.2.3", "-t", "onbuild:child")
    assert "# Executing 1 build trigger" in res.out
    assert "triggered" in res.out
    assert "\n0\n" in res.out            # no eth interface with --network none
    assert "10.1.2.3" in res.out
    assert inspect(loaded, "onbuild:child")["Config"].get("OnBuild") in (None, [])


def send_build(d, body, query=""):
    """A raw POST /build of body on the daemon's socket, left open."""
    import socket
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.sock)
    s.sendall(b"POST /v1.47/build%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
              b"Content-Length: %d\r\n\r\n" % (query.encode(), len(body)) + body)
    return s


def assert_cleaned_up(d, before):
    """Within seconds: no container beyond those of before, no build directory."""
    import time
    deadline = time.time() + 20
    while time.time() < deadline and not set(d.docker("ps", "-aq").out.split()) <= before:
        time.sleep(0.2)
    assert set(d.docker("ps", "-aq").out.split()) <= before
    left = [n for n in os.listdir(os.path.join(d.data_root, "tmp")) if n.startswith("build-")]
    deadline = time.time() + 10
    while left and time.time() < deadline:
        time.sleep(0.2)
        left = [n for n in os.listdir(os.path.join(d.data_root, "tmp")) if n.startswith("build-")]
    assert left == []


def test_client_disconnect_cleans_up(loaded, tmp_path):
    import time
    body = dockerfile_tar(b"FROM busybox\nRUN echo started && sleep 300\n")
    before = set(loaded.docker("ps", "-aq").out.split())
    s = send_build(loaded, body)
    got = b""
    deadline = time.time() + 30
    while b"started" not in got and time.time() < deadline:
        got += s.recv(4096)
    assert b"Running in" in got
    s.close()
    assert_cleaned_up(loaded, before)


def test_dockerfile_from_stdin(loaded, tmp_path):
    df = b"FROM busybox\nRUN echo from-stdin\n"
    res = loaded.docker("build", "-t", "stdin:1", "-", input=df, timeout=120)
    assert "from-stdin" in res.out
    write(tmp_path, {"data.txt": "ctx\n"})
    res = loaded.docker("build", "-t", "stdin:2", "-f", "-", str(tmp_path),
                        input=b"FROM busybox\nCOPY data.txt /d\n", timeout=120)
    assert loaded.docker("run", "--rm", "stdin:2", "cat", "/d").out == "ctx\n"
    write(tmp_path, {"other.Dockerfile": "FROM busybox\nLABEL which=other\n"})
    build(loaded, tmp_path, "-f", os.path.join(str(tmp_path), "other.Dockerfile"), "-t", "stdin:3")
    assert inspect(loaded, "stdin:3")["Config"]["Labels"] == {"which": "other"}


def test_docker_compose_build(loaded, tmp_path):
    import subprocess
    write(tmp_path, {
        "docker-compose.yml": "version: '3'\nservices:\n  web:\n    build:\n      context: ./web\n"
                              "      args:\n        MSG: composed\n    image: compose-web:latest\n",
        "web/Dockerfile": "FROM busybox\nARG MSG\nRUN echo $MSG > /msg\nCMD [\"cat\", \"/msg\"]\n",
    })
    env = dict(os.environ, DOCKER_HOST="unix://" + loaded.sock, DOCKER_CONFIG=loaded.docker_config,
               COMPOSE_DOCKER_CLI_BUILD="0", DOCKER_BUILDKIT="0")
    res = subprocess.run(["docker-compose", "build"], cwd=str(tmp_path), env=env, capture_output=True, timeout=180)
    assert res.returncode == 0, res.stderr.decode()
    assert loaded.docker("run", "--rm", "compose-web:latest").out == "composed\n"


def test_arg_scoping_and_escape(loaded, tmp_path):
    write(tmp_path, {"Dockerfile": "\n".join([
        "# escape=`",
        "ARG V=global",
        "FROM busybox",
        "RUN echo \"one[$V]\"",
        "ARG V",
        "RUN echo \"two[$V]\"",
        "ARG W=argw",
        "ENV W=envw",
        "RUN echo \"three[$W]\" `",
        "    \"[${UNSET:-dflt}]\" \"[${V:+set}]\"",
        "",
    ])})
    res = build(loaded, tmp_path)
    assert "one[]" in res.out
    assert "two[global]" in res.out
    assert "three[envw] [dflt] [set]" in res.out
    res = build(loaded, tmp_path, "--build-arg", "V=override")
    assert "two[override]" in res.out


def test_run_resources(loaded, tmp_path):
    write(tmp_path, {"Dockerfile": "FROM busybox\nRUN df -k /dev/shm | tail -1\n"})
    res = build(loaded, tmp_path, "--shm-size", "32m", "--memory", "64m", "--no-cache")
    assert " 32768 " in res.out
    bad = build(loaded, tmp_path, "--memory", "1k", "--no-cache", check=False)
    assert bad.returncode != 0 and "Minimum memory limit allowed is 6MB" in bad.err


def test_context_with_outside_symlink(loaded, tmp_path):
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY ok.txt /ok\nCOPY link /link\n", "ok.txt": "ok\n"})
    os.symlink("/etc/hostname", os.path.join(str(tmp_path), "link"))
    os.symlink("../../../../outside", os.path.join(str(tmp_path), "far"))
    build(loaded, tmp_path, "-t", "sym:1")
    out = loaded.docker("run", "--rm", "sym:1", "readlink", "/link").out
    assert out == "/etc/hostname\n"
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY far/x /x\n"})
    res = build(loaded, tmp_path, check=False)
    assert res.returncode != 0 and "symbolic link" in res.err
    # a glob through a symlinked directory reaches nothing outside the context
    os.symlink("/etc", os.path.join(str(tmp_path), "etclink"))
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY etcl*/hostname /h\n"})
    res = build(loaded, tmp_path, check=False)
    assert res.returncode != 0 and "no source files were specified" in res.err


def test_docker_py_gzip_context_and_options(loaded):
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, text in {"Dockerfile": "FROM busybox AS one\nARG N\nRUN echo \"n=$N\" > /n\n"
                                         "FROM busybox AS two\nRUN false\n",
                           "x.txt": "x"}.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    buf.seek(0)
    client = loaded.client()
    img, logs = client.images.build(fileobj=buf, custom_context=True, encoding="gzip", buildargs={"N": "7"},
                                    target="one", labels={"via": "py"}, network_mode="none", tag="py:gz")
    assert img.labels == {"via": "py"}
    assert client.containers.run("py:gz", "cat /n", remove=True) == b"n=7\n"


def _raw_post(sock_path, path, body=b"", ctype="application/x-tar"):
    """A raw POST on the daemon's socket (docker-py has no buildid or cancel)."""
    import socket
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
              % (path.encode(), ctype.encode(), len(body)) + body)
    return s


def _read_reply(s, timeout=20):
    """Reads until the server closes or ends the chunked body; the status and the raw body."""
    import time
    s.settimeout(timeout)
    got = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        head, sep, rest = got.partition(b"\r\n\r\n")
        if sep and (b"chunked" not in head.lower() and b"content-length: 0" in head.lower()
                    or rest.endswith(b"0\r\n\r\n")):
            break
        if sep and b"content-length:" in head.lower() and b"chunked" not in head.lower():
            n = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            if len(rest) >= n:
                break
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    head, _, rest = got.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), rest


def test_build_cancel_by_id(loaded, tmp_path):
    import io
    import tarfile
    import time
    body = dockerfile_tar(b"FROM busybox\nRUN echo started && sleep 30\nRUN echo never\n")
    before = set(loaded.docker("ps", "-aq", "--no-trunc").out.split())
    s = _raw_post(loaded.sock, "/v1.47/build?buildid=cancel-me&t=cancelled:1", body)
    s.settimeout(30)
    got = b""
    deadline = time.time() + 30
    while b"started" not in got and time.time() < deadline:
        got += s.recv(4096)
    assert b"Running in" in got
    run_id = got.split(b"Running in ")[1][:12].decode()
    assert any(c.startswith(run_id) for c in loaded.docker("ps", "-aq", "--no-trunc").out.split())

    t0 = time.time()
    status, body = _read_reply(_raw_post(loaded.sock, "/v1.47/build/cancel?id=cancel-me"))
    assert (status, body) == (200, b"")

    # the build's own stream ends, quickly, with dockerd's error line
    s.settimeout(15)
    while not got.endswith(b"0\r\n\r\n") and time.time() - t0 < 15:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    assert time.time() - t0 < 10
    lines = [json.loads(line) for chunk in got.split(b"\r\n") for line in chunk.split(b"\n")
             if line.startswith(b"{")]
    assert lines[-1]["error"] == "build cancelled"
    assert lines[-1]["errorDetail"]["message"] == "build cancelled"
    assert not any("never" in line.get("stream", "") for line in lines)
    assert loaded.docker("image", "inspect", "cancelled:1", check=False).returncode != 0
    # the RUN container and the build directory are gone
    deadline = time.time() + 10
    while set(loaded.docker("ps", "-aq", "--no-trunc").out.split()) - before and time.time() < deadline:
        time.sleep(0.2)
    assert set(loaded.docker("ps", "-aq", "--no-trunc").out.split()) <= before
    tmp = os.path.join(loaded.data_root, "tmp")
    deadline = time.time() + 10
    while [n for n in os.listdir(tmp) if n.startswith("build-")] and time.time() < deadline:
        time.sleep(0.2)
    assert [n for n in os.listdir(tmp) if n.startswith("build-")] == []

    # an id no build has: 200 as on dockerd; no id: 400
    assert _read_reply(_raw_post(loaded.sock, "/v1.47/build/cancel?id=cancel-me")) == (200, b"")
    assert _read_reply(_raw_post(loaded.sock, "/v1.47/build/cancel?id=nosuch")) == (200, b"")
    status, body = _read_reply(_raw_post(loaded.sock, "/v1.47/build/cancel"))
    assert status == 400 and json.loads(body)["message"] == "build ID not provided"


def test_stages_copying_the_same_context(loaded, tmp_path):
    """Two stages that do not depend on each other copy the same context
    files (read once by the build) and both reach the last stage intact;
    a change to one of them busts both COPYs on the next build."""
    files = {"src/%02d.txt" % i: "line %d\n" % i for i in range(40)}
    files["Dockerfile"] = "\n".join([
        "FROM busybox AS left",
        "COPY src/ /in/",
        "RUN cat /in/* | md5sum > /left.sum",
        "FROM busybox AS right",
        "COPY src/ /in/",
        "RUN ls /in | wc -l > /right.count",
        "FROM busybox",
        "COPY --from=left /left.sum /out/",
        "COPY --from=right /right.count /out/",
        "CMD cat /out/left.sum /out/right.count",
        "",
    ])
    write(tmp_path, files)
    build(loaded, tmp_path, "-t", "twostage:1")
    import hashlib
    want = hashlib.md5("".join(files["src/%02d.txt" % i] for i in range(40)).encode()).hexdigest()
    out = loaded.docker("run", "--rm", "twostage:1").out.split()
    assert out[0] == want and out[2] == "40", out
    again = build(loaded, tmp_path, "-t", "twostage:1").out
    assert again.count(" ---> Using cache") == 7, again
    write(tmp_path, {"src/07.txt": "changed\n"})
    third = build(loaded, tmp_path, "-t", "twostage:1").out
    # both stages' COPY and RUN run again; the last stage's COPYs follow
    assert third.count(" ---> Running in ") == 2, third
    out = loaded.docker("run", "--rm", "twostage:1").out.split()
    assert out[0] != want and out[2] == "40", out

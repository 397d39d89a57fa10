"""Container behaviour that existing clients depend on (issue 17): kill
answering after the exit, HostConfig.Runtime, attach without streaming,
exec with a TTY, the stats document and the cgroup filesystem inside."""

import os
import socket
import time

import pytest


@pytest.fixture(scope="module")
def image(daemon, fixtures):
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return "busybox:latest"


@pytest.fixture(scope="module")
def client(daemon):
    c = daemon.client(version="1.47")
    yield c
    c.close()


@pytest.fixture
def run(daemon, image):
    """Starts containers; removes them afterwards."""
    made = []

    def start(*args, cmd=("sleep", "1000")):
        cid = daemon.docker("run", "-d", *args, image, *cmd).out.strip()
        made.append(cid)
        return cid

    yield start
    for cid in made:
        daemon.docker("rm", "-f", cid, check=False)


# ---- kill ------------------------------------------------------------------------


def test_kill_answers_after_the_exit(client, image):
    # dockerd answers a SIGKILL only once the container has exited: the very
    # next inspect must see it exited with 137, never "running"
    for _ in range(20):
        c = client.containers.run(image, ["sleep", "1000"], detach=True, network_mode="none")
        try:
            c.kill()
            c.reload()
            assert c.status == "exited", c.attrs["State"]
            assert c.attrs["State"]["ExitCode"] == 137
        finally:
            c.remove(force=True)


def test_kill_explicit_sigkill_through_cli(daemon, run):
    cid = run("--network", "none")
    daemon.docker("kill", "-s", "KILL", cid)
    state = daemon.json("GET", "/containers/%s/json" % cid)["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 137)


def test_kill_other_signal_answers_when_sent(daemon, run):
    # a trapped signal does not end the container; kill must not wait for it
    cid = run("--network", "none", cmd=("sh", "-c", "trap 'echo got' USR1; while :; do sleep 0.1; done"))
    t0 = time.time()
    daemon.docker("kill", "-s", "USR1", cid)
    assert time.time() - t0 < 5
    assert daemon.json("GET", "/containers/%s/json" % cid)["State"]["Running"]


# ---- runtime ---------------------------------------------------------------------


def test_runtime_default_and_runc(daemon, run):
    info = daemon.json("GET", "/info")
    assert info["DefaultRuntime"] == "runc"
    assert "runc" in info["Runtimes"]
    cid = run("--network", "none")
    assert daemon.json("GET", "/containers/%s/json" % cid)["HostConfig"]["Runtime"] == "runc"
    cid = run("--network", "none", "--runtime", "runc")
    assert daemon.docker("inspect", "-f", "{{.HostConfig.Runtime}}", cid).out.strip() == "runc"


def test_runtime_unknown_refused(daemon, image):
    r = daemon.docker("run", "--rm", "--network", "none", "--runtime", "kata", image, "true", check=False)
    assert r.returncode != 0
    assert "unknown or invalid runtime name: kata" in r.err
    r = daemon.docker("create", "--runtime", "kata", image, check=False)
    assert "unknown or invalid runtime name: kata" in r.err


# ---- attach ----------------------------------------------------------------------


def wait_exited(client, c, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        c.reload()
        if c.status == "exited":
            return
        time.sleep(0.05)
    raise AssertionError("container did not exit")


def test_attach_logs_without_stream_over_hijack(client, image):
    # docker-py sends the Upgrade handshake; logs=1&stream=0 must send the
    # output so far and close, for a running and for an exited container
    c = client.containers.run(image, ["sh", "-c", "echo one; echo two >&2; exec sleep 1000"], detach=True,
                              network_mode="none")
    try:
        deadline = time.time() + 10
        while b"two" not in c.logs() and time.time() < deadline:
            time.sleep(0.05)
        out = c.attach(stream=False, logs=True, stdout=True, stderr=True)
        assert out == b"one\ntwo\n"
        assert c.attach(stream=False, logs=True, stdout=True, stderr=False) == b"one\n"
        # nothing asked for, nothing sent, and still it closes
        assert c.attach(stream=False, logs=False) == b""
    finally:
        c.remove(force=True)
    c = client.containers.run(image, ["sh", "-c", "echo done"], detach=True, network_mode="none")
    try:
        wait_exited(client, c)
        assert c.attach(stream=False, logs=True) == b"done\n"
    finally:
        c.remove(force=True)


# ---- exec with a TTY -------------------------------------------------------------


def test_exec_tty_output_raw_and_whole(client, image):
    # a command that prints at once: no byte may be lost to the client's
    # buffered read of the 101 header, and with a TTY nothing is framed
    c = client.containers.run(image, ["sleep", "1000"], detach=True, network_mode="none")
    try:
        for _ in range(20):
            code, out = c.exec_run(["echo", "hello out"], tty=True)
            assert (code, out) == (0, b"hello out\r\n")
        code, out = c.exec_run(["sh", "-c", "seq 1 2000"], tty=True)
        assert out == "".join("%d\r\n" % i for i in range(1, 2001)).encode()
        # without a TTY: demultiplexed, whole too
        code, out = c.exec_run(["echo", "hello out"])
        assert out == b"hello out\n"
    finally:
        c.remove(force=True)


def test_exec_framing_follows_the_start_tty(client, image):
    # dockerd frames by the Tty of exec start, not of exec create (which
    # decides whether the process gets a terminal)
    c = client.containers.run(image, ["sleep", "1000"], detach=True, network_mode="none")
    try:
        api = client.api
        x = api.exec_create(c.id, ["sh", "-c", "echo out; echo err >&2"], tty=True)
        # framed stream of a terminal: docker-py demultiplexes it
        assert api.exec_start(x["Id"], tty=False, demux=True) == (b"out\r\nerr\r\n", None)
        x = api.exec_create(c.id, ["sh", "-c", "echo out; echo err >&2"], tty=False)
        # raw stream of pipes: both streams as they come, unframed
        out = api.exec_start(x["Id"], tty=True)
        assert sorted(out.split(b"\n")) == [b"", b"err", b"out"]
    finally:
        c.remove(force=True)


def raw_upgrade(daemon, path, body):
    s = socket.socket(socket.AF_UNIX)
    s.connect(daemon.sock)
    s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (path, len(body), body)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    s.close()
    return head.decode()


def test_stream_media_type_by_version(daemon, image, run):
    cid = run("--network", "none")
    for version, want in (("1.41", "raw-stream"), ("1.47", "multiplexed-stream")):
        eid = daemon.json("POST", "/containers/%s/exec" % cid,
                          body='{"Cmd": ["true"], "AttachStdout": true}', expect=201)["Id"]
        head = raw_upgrade(daemon, "/v%s/exec/%s/start" % (version, eid), '{"Tty": false}')
        assert "Content-Type: application/vnd.docker.%s" % want in head, head
        head = raw_upgrade(daemon, "/v%s/containers/%s/attach?stream=0&stdout=1" % (version, cid), "")
        assert "Content-Type: application/vnd.docker.%s" % want in head, head
    # a terminal's stream is raw at every version
    eid = daemon.json("POST", "/containers/%s/exec" % cid, body='{"Cmd": ["true"], "Tty": true}', expect=201)["Id"]
    assert "raw-stream" in raw_upgrade(daemon, "/v1.47/exec/%s/start" % eid, '{"Tty": true}')

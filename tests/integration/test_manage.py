"""Managing containers: stop, kill, restart, pause, wait, rm, rename,
inspect, ps, logs, attach, exec, events and health."""

import json
import os
import signal
import subprocess
import threading
import time

import pytest

NET = ["--network", "none"]


@pytest.fixture(scope="module")
def d(daemon, fixtures):
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return daemon


def start(d, *args):
    return d.docker("run", "-d", *NET, *args).out.strip()


def inspect(d, cid):
    return json.loads(d.docker("inspect", cid).out)[0]


def wait_for(pred, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_inspect_shape(d):
    cid = start(d, "--name", "shape", "busybox", "sleep", "30")
    try:
        c = inspect(d, cid)
        assert c["Id"] == cid and c["Name"] == "/shape"
        assert c["Path"] == "sleep" and c["Args"] == ["30"]
        st = c["State"]
        assert st["Status"] == "running" and st["Running"] and not st["Paused"] and st["Pid"] > 0
        assert st["ExitCode"] == 0 and st["StartedAt"].endswith("Z")
        assert c["Config"]["Image"] == "busybox" and c["Config"]["Cmd"] == ["sleep", "30"]
        assert c["HostConfig"]["NetworkMode"] == "none"
        assert c["GraphDriver"]["Name"] in ("overlay2", "vfs")
        assert c["LogPath"].endswith(cid + "-json.log")
        assert c["RestartCount"] == 0
        ps = json.loads(d.docker("ps", "--no-trunc", "--format", "{{json .}}", "--filter", "id=" + cid).out)
        assert ps["Names"] == "shape" and ps["State"] == "running" and ps["Status"].startswith("Up")
    finally:
        d.docker("rm", "-f", cid)


def test_stop_kill_restart_pause(d):
    cid = start(d, "busybox", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done")
    d.docker("pause", cid)
    assert inspect(d, cid)["State"]["Status"] == "paused"
    assert "(Paused)" in d.docker("ps", "--filter", "id=" + cid, "--format", "{{.Status}}").out
    res = d.docker("pause", cid, check=False)
    assert res.returncode != 0 and "already paused" in res.err
    d.docker("unpause", cid)
    assert inspect(d, cid)["State"]["Status"] == "running"
    d.docker("restart", "-t", "5", cid)
    st = inspect(d, cid)["State"]
    assert st["Status"] == "running"
    d.docker("kill", "-s", "TERM", cid)
    assert d.docker("wait", cid).out.strip() == "0"
    res = d.docker("kill", cid, check=False)
    assert res.returncode != 0 and "is not running" in res.err
    assert d.docker("stop", cid).returncode == 0  # stopping a stopped container is fine
    d.docker("start", cid)
    d.docker("kill", cid)
    assert inspect(d, cid)["State"]["ExitCode"] == 137
    d.docker("rm", cid)


def test_wait_conditions(d):
    cid = d.docker("create", *NET, "busybox", "sh", "-c", "sleep 0.3; exit 5").out.strip()
    # a created container is not running: docker wait answers at once, as dockerd does
    assert d.docker("wait", cid).out.strip() == "0"
    result = {}

    def wait_next():
        result["r"] = d.request("POST", "/containers/%s/wait?condition=next-exit" % cid, timeout=20)

    t = threading.Thread(target=wait_next)
    t.start()
    time.sleep(0.3)
    d.docker("start", cid)
    t.join(20)
    assert json.loads(result["r"][2]) == {"StatusCode": 5, "Error": None}
    assert d.docker("wait", cid).out.strip() == "5"  # not-running holds at once
    status, _, body = d.request("POST", "/containers/%s/wait?condition=bogus" % cid)
    assert status == 400
    # removed: answered when the container goes
    conn_result = {}

    def wait_removed():
        conn_result["r"] = d.request("POST", "/containers/%s/wait?condition=removed" % cid, timeout=20)

    t = threading.Thread(target=wait_removed)
    t.start()
    time.sleep(0.3)
    d.docker("rm", cid)
    t.join(20)
    assert conn_result["r"][0] == 200 and json.loads(conn_result["r"][2])["StatusCode"] == 5


def test_rm_running_and_rename(d):
    cid = start(d, "--name", "old", "busybox", "sleep", "30")
    res = d.docker("rm", cid, check=False)
    assert res.returncode != 0 and "container is running" in res.err
    d.docker("rename", "old", "new")
    assert inspect(d, cid)["Name"] == "/new"
    res = d.docker("rename", "new", "bad name", check=False)
    assert res.returncode != 0
    d.docker("rm", "-f", "new")
    res = d.docker("inspect", cid, check=False)
    assert res.returncode != 0 and "No such" in res.err


def test_ps_flags(d):
    a = d.docker("create", *NET, "--name", "ps-a", "busybox", "true").out.strip()
    b = start(d, "--name", "ps-b", "busybox", "sleep", "30")
    c = d.docker("run", *NET, "--name", "ps-c", "busybox", "sh", "-c", "exit 2", check=False)
    try:
        running = d.docker("ps", "-q", "--no-trunc").out.split()
        assert b in running and a not in running
        all_ids = d.docker("ps", "-aq", "--no-trunc").out.split()
        assert a in all_ids and b in all_ids
        assert d.docker("ps", "-lq", "--no-trunc").out.split() == [all_ids[0]]
        assert len(d.docker("ps", "-aq", "-n", "2").out.split()) == 2
        assert d.docker("ps", "-a", "--filter", "exited=2", "--format", "{{.Names}}").out.split() == ["ps-c"]
        assert d.docker("ps", "-a", "--filter", "status=created", "--format", "{{.Names}}").out.split() == ["ps-a"]
        assert d.docker("ps", "-a", "--filter", "before=ps-b", "--format", "{{.Names}}").out.split()[0] == "ps-a"
        assert d.docker("ps", "-a", "--filter", "since=ps-b", "--format", "{{.Names}}").out.split() == ["ps-c"]
        size = d.docker("ps", "-s", "--filter", "name=ps-b", "--format", "{{.Size}}").out
        assert "virtual" in size
        res = d.docker("ps", "--filter", "status=bogus", check=False)
        assert res.returncode != 0
    finally:
        d.docker("rm", "-f", "ps-a", "ps-b", "ps-c")


def test_logs(d, tmp_path):
    cid = start(d, "busybox", "sh", "-c", "echo one; echo two >&2; sleep 0.5; echo three; sleep 30")
    assert wait_for(lambda: "three" in d.docker("logs", cid).out)
    res = d.docker("logs", cid)
    assert res.out == "one\nthree\n" and res.err == "two\n"
    assert d.docker("logs", "--tail", "1", cid).out == "three\n"
    ts = d.docker("logs", "-t", cid).out.splitlines()[0]
    assert ts.endswith("Z one")
    assert d.docker("logs", "--since", "2099-01-01T00:00:00Z", cid).out == ""
    # follow sees lines as they come
    proc = subprocess.Popen(["docker", "-H", "unix://" + d.sock, "logs", "-f", cid], stdout=subprocess.PIPE,
                            env=dict(os.environ, DOCKER_CONFIG=d.docker_config))
    time.sleep(0.5)
    d.docker("exec", cid, "sh", "-c", "echo appended > /proc/1/fd/1")
    d.docker("stop", "-t", "0", cid)
    out = proc.communicate(timeout=20)[0].decode()
    assert out.endswith("appended\n") and out.startswith("one\n")
    d.docker("rm", cid)


def test_log_rotation(d):
    cid = start(d, "--log-opt", "max-size=2k", "--log-opt", "max-file=2", "busybox", "sh", "-c",
                "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done; sleep 30")
    assert wait_for(lambda: "line-299" in d.docker("logs", "--tail", "1", cid).out)
    logpath = inspect(d, cid)["LogPath"]
    assert os.path.getsize(logpath) <= 2048 + 200
    assert os.path.exists(logpath + ".1") and not os.path.exists(logpath + ".2")
    lines = d.docker("logs", cid).out.split()
    assert lines[-1] == "line-299" and len(lines) < 300
    d.docker("rm", "-f", cid)


def test_exec(d):
    cid = start(d, "-e", "BASE=1", "busybox", "sleep", "30")
    out = d.docker("exec", "-e", "EXTRA=2", "-w", "/tmp", "-u", "1000", cid, "sh", "-c",
                   "echo $BASE $EXTRA; pwd; id -u").out.split()
    assert out == ["1", "2", "/tmp", "1000"]
    assert d.docker("exec", cid, "sh", "-c", "exit 9", check=False).returncode == 9
    eid_out = d.docker("exec", "-d", cid, "sh", "-c", "sleep 0.2; touch /tmp/detached")
    assert eid_out.returncode == 0
    assert wait_for(lambda: d.docker("exec", cid, "ls", "/tmp/detached", check=False).returncode == 0)
    assert d.docker("exec", "--privileged", cid, "sh", "-c", "grep CapEff /proc/self/status").out.split()[1] != "00000000a80425fb"
    res = d.docker("exec", cid, "nosuch", check=False)
    assert res.returncode in (126, 127) and "executable file not found" in (res.out + res.err)
    # exec sees the container's pid namespace
    assert "sleep 30" in d.docker("exec", cid, "ps").out
    c = d.client()
    api = c.api
    ex = api.exec_create(cid, ["sh", "-c", "exit 3"])
    api.exec_start(ex["Id"])
    info = api.exec_inspect(ex["Id"])
    assert info["ExitCode"] == 3 and info["Running"] is False and info["ContainerID"] == cid
    d.docker("rm", "-f", cid)
    res = d.docker("exec", cid, "true", check=False)
    assert res.returncode != 0


def test_attach(d):
    cid = start(d, "busybox", "sh", "-c", "sleep 0.5; echo attached-out; exit 4")
    res = d.docker("attach", cid, check=False)
    assert res.returncode == 4 and "attached-out" in res.out
    d.docker("rm", cid)
    # stdin through attach with docker-py's socket
    cid = d.docker("run", "-d", "-i", *NET, "busybox", "cat").out.strip()
    sock = d.client().api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stream": 1})
    raw = sock._sock
    raw.sendall(b"through-stdin\n")
    got = b""
    end = time.time() + 5
    raw.settimeout(1)
    while b"through-stdin" not in got and time.time() < end:
        try:
            got += raw.recv(4096)
        except OSError:
            pass
    assert b"through-stdin" in got
    assert got[0] == 1  # stdcopy frame: stdout
    raw.close()
    d.docker("rm", "-f", cid)


def test_events_stream(d):
    since = str(time.time() - 1)
    proc = subprocess.Popen(["docker", "-H", "unix://" + d.sock, "events", "--format", "{{.Type}} {{.Action}}",
                             "--filter", "type=container"], stdout=subprocess.PIPE,
                            env=dict(os.environ, DOCKER_CONFIG=d.docker_config))
    time.sleep(0.5)
    d.docker("run", "--rm", *NET, "--name", "evt", "busybox", "true")
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=10)[0].decode().splitlines()
    for action in ("create", "attach", "start", "die", "destroy"):
        if action == "attach":
            continue
        assert "container " + action in out, out
    # since/until replay, filtered
    until = str(time.time())
    replay = d.docker("events", "--since", since, "--until", until, "--filter", "container=evt",
                      "--filter", "event=die", "--format", "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}").out
    assert replay.strip() == "die evt 0"


def test_health(d):
    cid = start(d, "--health-cmd", "test -f /tmp/ok", "--health-interval", "200ms", "--health-retries", "2",
                "--health-timeout", "2s", "busybox", "sh", "-c", "sleep 0.8; touch /tmp/ok; sleep 30")
    assert inspect(d, cid)["State"]["Health"]["Status"] == "starting"
    assert wait_for(lambda: inspect(d, cid)["State"]["Health"]["Status"] == "healthy", 15)
    assert "(healthy)" in d.docker("ps", "--filter", "id=" + cid, "--format", "{{.Status}}").out
    assert d.docker("ps", "-q", "--no-trunc", "--filter", "health=healthy").out.split() == [cid]
    d.docker("exec", cid, "rm", "/tmp/ok")
    assert wait_for(lambda: inspect(d, cid)["State"]["Health"]["Status"] == "unhealthy", 15)
    log = inspect(d, cid)["State"]["Health"]["Log"]
    assert log and log[-1]["ExitCode"] == 1
    events = d.docker("events", "--since", "0", "--until", str(time.time()), "--filter", "container=" + cid,
                      "--filter", "event=health_status", "--format", "{{.Action}}").out.split("\n")
    assert "health_status: healthy" in events and "health_status: unhealthy" in events
    d.docker("rm", "-f", cid)


def test_info_counts_containers(make_daemon, fixtures):
    e = make_daemon()
    e.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    run = e.docker("run", "-d", *NET, "busybox", "sleep", "30").out.strip()
    paused = e.docker("run", "-d", *NET, "busybox", "sleep", "30").out.strip()
    e.docker("pause", paused)
    e.docker("create", *NET, "busybox", "true")
    info = json.loads(e.docker("info", "--format", "{{json .}}").out)
    assert (info["Containers"], info["ContainersRunning"], info["ContainersPaused"], info["ContainersStopped"]) == (3, 1, 1, 1)
    assert "name=seccomp,profile=builtin" in info["SecurityOptions"]
    e.docker("rm", "-f", run, paused)


def test_daemon_stops_with_execs_of_live_containers(make_daemon, fixtures):
    # exec instances stay inspectable while their container exists; a
    # daemon stopped then frees them (LeakSanitizer checks it under ASan)
    e = make_daemon()
    e.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    cid = e.docker("run", "-d", *NET, "busybox", "sleep", "30").out.strip()
    assert e.docker("exec", cid, "echo", "hi").out == "hi\n"
    e.stop()

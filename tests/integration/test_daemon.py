"""The daemon process: configuration, pidfile, sockets, signals."""

import json
import os
import re
import signal
import socket
import subprocess
import time

from conftest import BERTHD, Daemon


def run_berthd(*args, timeout=20):
    return subprocess.run([BERTHD] + list(args), capture_output=True, text=True, timeout=timeout)


def test_version_flag():
    res = run_berthd("--version")
    assert res.returncode == 0
    assert res.stdout.startswith("Berth version ")


def test_unknown_daemon_json_key_stops_start(make_daemon):
    d = make_daemon(config={"debug": True, "no-such-key": 1, "other-bad": "x"}, start=False)
    d.start(wait=False)
    rc = d.proc.wait(20)
    d.proc = None
    assert rc != 0
    log = d.read_log()
    assert "the following directives don't match any configuration option: " in log
    assert "no-such-key" in log and "other-bad" in log
    assert not os.path.exists(d.sock)


def test_flag_and_file_conflict_names_key(tmp_path):
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"log-level": "warn"}))
    res = run_berthd("--config-file", str(cfg), "--log-level", "debug", "--validate")
    assert res.returncode != 0
    assert "specified both as a flag and in the configuration file: log-level" in res.stderr


def test_bad_value_names_key(tmp_path):
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"debug": "yes"}))
    res = run_berthd("--config-file", str(cfg), "--validate")
    assert res.returncode != 0 and '"debug"' in res.stderr
    cfg.write_text(json.dumps({"log-level": "loud"}))
    res = run_berthd("--config-file", str(cfg), "--validate")
    assert res.returncode != 0 and "log-level" in res.stderr


def test_validate(tmp_path):
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"log-level": "warn", "data-root": str(tmp_path / "d")}))
    res = run_berthd("--config-file", str(cfg), "--validate")
    assert res.returncode == 0, res.stderr
    assert "configuration OK" in res.stdout
    assert not os.path.exists(tmp_path / "d")  # validating starts nothing


def test_tcp_without_tls_needs_explicit_opt_out(tmp_path):
    cfg = tmp_path / "daemon.json"
    cfg.write_text("{}")
    res = run_berthd("--config-file", str(cfg), "-H", "tcp://127.0.0.1:2375", "--validate")
    assert res.returncode != 0 and "--tls=false" in res.stderr
    res = run_berthd("--config-file", str(cfg), "-H", "tcp://127.0.0.1:2375", "--tls=false", "--validate")
    assert res.returncode == 0, res.stderr


def test_tcp_listener_with_tls_false_warns(make_daemon):
    d = make_daemon(args=["-H", "tcp://127.0.0.1:2375", "--tls=false"])
    assert "WITHOUT TLS" in d.read_log()
    # reachable inside the daemon's own namespace only
    out = subprocess.run(["nsenter", "--net=/run/netns/" + d.netns, "docker", "-H", "tcp://127.0.0.1:2375",
                          "version", "--format", "{{.Server.APIVersion}}"],
                         capture_output=True, text=True, env=dict(os.environ, DOCKER_CONFIG=d.docker_config))
    assert out.stdout.strip() == "1.47", out.stderr


def test_logs_in_dockerd_style(make_daemon):
    d = make_daemon()
    first = d.read_log().splitlines()[0]
    assert re.match(r'^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z" level=info msg=".*"$', first), first


def test_second_daemon_on_same_pidfile_refused(make_daemon):
    d = make_daemon()
    other = Daemon(d.base + "-second")
    other.netns = d.netns
    other.pidfile = d.pidfile
    other.start(wait=False)
    rc = other.proc.wait(20)
    other.proc = None
    assert rc != 0
    assert "pid file found" in other.read_log()
    assert d.request("GET", "/_ping")[0] == 200


def test_live_socket_refused_and_stale_socket_removed(make_daemon):
    d = make_daemon()
    other = make_daemon(start=False)
    other.sock = d.sock
    other.start(wait=False)
    rc = other.proc.wait(20)
    other.proc = None
    assert rc != 0 and "already listening" in other.read_log()
    assert d.request("GET", "/_ping")[0] == 200

    # a socket file nobody listens on is replaced
    stale = make_daemon(start=False)
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale.sock)
    s.close()
    stale.start()
    assert "removing stale socket" in stale.read_log()
    assert stale.request("GET", "/_ping")[0] == 200


def test_socket_mode(make_daemon):
    d = make_daemon()
    st = os.stat(d.sock)
    assert oct(st.st_mode & 0o777) == "0o660"


def test_sigterm_shuts_down_cleanly(make_daemon):
    d = make_daemon()
    assert os.path.exists(d.pidfile)
    with open(d.pidfile) as f:
        assert int(f.read()) == d.proc.pid  # nsenter execs berthd: same pid
    rc = d.stop(signal.SIGTERM)
    assert rc == 0
    assert not os.path.exists(d.sock)
    assert not os.path.exists(d.pidfile)
    assert "Daemon shutdown complete" in d.read_log()
    # and it starts again on the same data root
    d.start()
    assert d.request("GET", "/_ping")[0] == 200


def test_sigint_shuts_down_cleanly(make_daemon):
    d = make_daemon()
    assert d.stop(signal.SIGINT) == 0


def test_sighup_reloads_log_level(make_daemon):
    d = make_daemon(config={"log-level": "info"})
    assert "level=debug" not in d.read_log()
    d.write_config({"log-level": "debug"})
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "Reloaded configuration" not in d.read_log() and time.time() < deadline:
        time.sleep(0.05)
    d.request("GET", "/version")
    time.sleep(0.2)
    assert "level=debug" in d.read_log()
    # a bad file is refused and changes nothing
    d.write_config({"log-level": "info", "bogus": 1})
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "Error reconfiguring" not in d.read_log() and time.time() < deadline:
        time.sleep(0.05)
    assert "Error reconfiguring" in d.read_log()
    assert d.request("GET", "/_ping")[0] == 200


def test_sigterm_lets_a_load_in_flight_finish(make_daemon, tmp_path):
    import conftest
    import hostile
    big = hostile.layer([("big.bin", {"data": b"\0" * (64 << 20)})])
    path = str(tmp_path / "big.tar")
    hostile.save_archive(path, big, tag="big:1")
    d = make_daemon()
    conn = conftest.UnixHTTPConnection(d.sock, timeout=120)
    with open(path, "rb") as f:
        conn.request("POST", "/images/load?quiet=1", body=f, headers={"Content-Type": "application/x-tar"})
    d.proc.send_signal(signal.SIGTERM)
    resp = conn.getresponse()
    body = resp.read().decode()
    assert resp.status == 200, body
    assert "Loaded image: big:1" in body
    assert d.stop() == 0
    d.start()
    assert "big" in d.docker("images").out


def test_init_path(make_daemon, fixtures, tmp_path):
    import conftest
    cfg = tmp_path / "c.json"
    cfg.write_text("{}")
    res = run_berthd("--config-file", str(cfg), "--init-path", "/no/such/init", "--validate")
    assert res.returncode != 0 and "init-path /no/such/init" in res.stderr
    init = os.path.join(os.path.dirname(conftest.BERTHD), "berth-init")
    copy = str(tmp_path / "my-init")
    subprocess.run(["cp", init, copy], check=True)
    d = make_daemon(config={"init-path": copy})
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    out = d.docker("run", "--rm", "--network", "none", "--init", "busybox", "cat", "/proc/1/cmdline").out
    assert out.startswith("/sbin/docker-init\0--\0cat")

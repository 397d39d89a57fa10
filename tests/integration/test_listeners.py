"""-H fd:// (systemd socket activation) and TCP with TLS client verification."""

import os
import socket
import subprocess
import time

import pytest


def ns_docker(d, *args):
    env = dict(os.environ, DOCKER_CONFIG=d.docker_config)
    env.pop("DOCKER_HOST", None)
    return subprocess.run(["nsenter", "--net=/run/netns/" + d.netns, "docker"] + list(args),
                          capture_output=True, text=True, env=env, timeout=60)


def test_socket_activation_fd(make_daemon):
    d = make_daemon(start=False)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(d.sock)
    listener.listen(16)
    fd = listener.fileno()
    cmd = d.command()
    i = cmd.index("-H")
    cmd[i + 1] = "fd://"
    subprocess.run(["ip", "netns", "add", d.netns], check=True)
    d.log = open(d.log_path, "ab")
    # sh's $$ is the pid berthd will have: sh, nsenter and berthd each exec.
    d.proc = subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh"] + cmd,
                              preexec_fn=lambda: os.dup2(fd, 3), close_fds=False,
                              stdout=d.log, stderr=subprocess.STDOUT)
    listener.close()  # the daemon holds its own copy now
    d.wait_ready()
    assert "API listen on fd://3" in d.read_log()
    assert d.docker("version", "--format", "{{.Server.APIVersion}}").out.strip() == "1.47"
    assert d.stop() == 0


def test_fd_without_systemd_is_an_error(make_daemon):
    d = make_daemon(start=False)
    cmd = d.command()
    cmd[cmd.index("-H") + 1] = "fd://"
    subprocess.run(["ip", "netns", "add", d.netns], check=True)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    assert res.returncode != 0
    assert "LISTEN_FDS" in res.stderr


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("certs"))
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=berth-test-ca",
            "-keyout", "ca-key.pem", "-out", "ca.pem", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for who in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + who, "-keyout", who + "-key.pem",
                "-out", who + ".csr", cwd=d)
        openssl("x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                "-days", "2", "-extfile", who + ".ext", "-out", who + ".pem", cwd=d)
    # a client certificate from a CA the daemon does not trust
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=rogue",
            "-keyout", "rogue-key.pem", "-out", "rogue.pem", cwd=d)
    return d


def test_tlsverify(make_daemon, certs):
    c = lambda n: os.path.join(certs, n)
    d = make_daemon(args=["-H", "tcp://127.0.0.1:2376", "--tlsverify", "--tlscacert", c("ca.pem"),
                          "--tlscert", c("server.pem"), "--tlskey", c("server-key.pem")])
    ok = ns_docker(d, "-H", "tcp://127.0.0.1:2376", "--tlsverify", "--tlscacert", c("ca.pem"),
                   "--tlscert", c("client.pem"), "--tlskey", c("client-key.pem"),
                   "version", "--format", "{{.Server.APIVersion}}")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "1.47"
    rogue = ns_docker(d, "-H", "tcp://127.0.0.1:2376", "--tlsverify", "--tlscacert", c("ca.pem"),
                      "--tlscert", c("rogue.pem"), "--tlskey", c("rogue-key.pem"), "version")
    assert rogue.returncode != 0
    assert "client certificate" in rogue.stderr, rogue.stderr
    plain = ns_docker(d, "-H", "tcp://127.0.0.1:2376", "version")
    assert plain.returncode != 0
    assert d.request("GET", "/_ping")[0] == 200  # the unix socket still serves


def test_tls_without_client_verification(make_daemon, certs):
    c = lambda n: os.path.join(certs, n)
    d = make_daemon(args=["-H", "tcp://127.0.0.1:2376", "--tls", "--tlscert", c("server.pem"),
                          "--tlskey", c("server-key.pem")])
    ok = ns_docker(d, "-H", "tcp://127.0.0.1:2376", "--tls", "--tlscacert", c("ca.pem"), "version", "--format", "{{.Server.APIVersion}}")
    assert ok.returncode == 0, ok.stderr

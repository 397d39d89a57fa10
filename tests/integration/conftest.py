"""Test harness: every daemon a test uses is its own berthd, in its own
network namespace, with its own data root, exec root, socket and pidfile.
Nothing here touches the host's /var/run/docker.sock or its network."""

import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BERTHD = os.environ.get("BERTHD", os.path.join(REPO, "build", "berthd"))
FIXTURES = os.environ.get("BERTH_FIXTURES", os.path.join(REPO, "build", "fixtures"))
SANITIZED = os.environ.get("BERTH_SANITIZED") == "1"
START_TIMEOUT = 30 if SANITIZED else 10

_counter = itertools.count()


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Daemon:
    """One berthd under test."""

    def __init__(self, base, config=None, args=(), name=None):
        self.base = base
        os.makedirs(base, exist_ok=True)
        self.data_root = os.path.join(base, "data")
        self.exec_root = os.path.join(base, "exec")
        self.sock = os.path.join(base, "berth.sock")
        self.pidfile = os.path.join(base, "berthd.pid")
        self.config_file = os.path.join(base, "daemon.json")
        self.log_path = os.path.join(base, "berthd.log")
        self.docker_config = os.path.join(base, "docker-config")
        os.makedirs(self.docker_config, exist_ok=True)
        self.netns = name or "berth-t%d-%d" % (os.getpid(), next(_counter))
        self.extra_args = list(args)
        self.proc = None
        self.write_config(config or {})

    def write_config(self, config):
        with open(self.config_file, "w") as f:
            json.dump(config, f)

    def command(self):
        return ["nsenter", "--net=/run/netns/" + self.netns, BERTHD,
                "--data-root", self.data_root, "--exec-root", self.exec_root,
                "-H", "unix://" + self.sock, "--pidfile", self.pidfile,
                "--config-file", self.config_file] + self.extra_args

    def start(self, wait=True):
        if not os.path.exists("/run/netns/" + self.netns):
            subprocess.run(["ip", "netns", "add", self.netns], check=True)
            subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("berthd exited with %s:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                status, _, _ = self.request("GET", "/_ping", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("berthd did not answer /_ping:\n" + self.read_log())

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Stops the daemon and returns its exit code; sanitizer reports
        in the log fail the test."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout or (60 if SANITIZED else 20))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("berthd did not stop on %s:\n%s" % (sig, self.read_log()))
        self.proc = None
        self.log.close()
        log = self.read_log()
        assert "ERROR: AddressSanitizer" not in log, log
        assert "ERROR: LeakSanitizer" not in log, log
        assert "runtime error:" not in log, log
        return rc

    def destroy(self):
        try:
            if self.proc:
                self.stop()
        finally:
            self.sweep()
            subprocess.run(["ip", "netns", "del", self.netns], stderr=subprocess.DEVNULL)
            shutil.rmtree(self.base, ignore_errors=True)

    def sweep(self):
        """After a failed test the daemon may have died with containers
        still running: kill them, drop their cgroups and mounts, so one
        failure does not leak into the host or the next test."""
        cdir = os.path.join(self.data_root, "containers")
        ids = os.listdir(cdir) if os.path.isdir(cdir) else []
        for pid in self.monitors():
            os.kill(pid, signal.SIGKILL)
        for cid in ids:
            for root, dirs, files in os.walk("/sys/fs/cgroup"):
                if os.path.basename(root) == cid and "cgroup.procs" in files:
                    try:
                        for pid in open(os.path.join(root, "cgroup.procs")).read().split():
                            os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
                dirs[:] = [x for x in dirs if x in ("berth", cid) or root == "/sys/fs/cgroup"]
        time.sleep(0.1 if ids else 0)
        for cid in ids:
            for ctl in os.listdir("/sys/fs/cgroup"):
                path = os.path.join("/sys/fs/cgroup", ctl, "berth", cid)
                if os.path.isdir(path):
                    try:
                        os.rmdir(path)
                    except OSError:
                        pass
        with open("/proc/mounts") as f:
            mounts = [l.split()[1] for l in f if l.split()[1].startswith(self.base)]
        for m in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)

    def monitors(self):
        """PIDs of live restore's container monitors (berth-init --monitor)
        of this daemon: their working directory is its exec root's."""
        out = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    cmd = f.read().split(b"\0")
                cwd = os.readlink("/proc/%s/cwd" % p)
            except OSError:
                continue
            if len(cmd) > 1 and cmd[1] == b"--monitor" and cwd.startswith(self.exec_root):
                out.append(int(p))
        return out

    # ---- clients -----------------------------------------------------------

    def docker(self, *args, check=True, input=None, timeout=120):
        env = dict(os.environ, DOCKER_HOST="unix://" + self.sock, DOCKER_CONFIG=self.docker_config)
        env.pop("DOCKER_CONTEXT", None)
        started = time.time()
        res = subprocess.run(["docker"] + list(args), capture_output=True, input=input, env=env,
                             timeout=timeout)
        if time.time() - started > 5:
            print("slow docker command (%.1fs): %s" % (time.time() - started, " ".join(args)))
        res.out = res.stdout.decode(errors="replace") if isinstance(res.stdout, bytes) else res.stdout
        res.err = res.stderr.decode(errors="replace") if isinstance(res.stderr, bytes) else res.stderr
        if check and res.returncode != 0:
            raise AssertionError("docker %s failed (%d):\n%s\n%s" % (" ".join(args), res.returncode, res.out, res.err))
        return res

    def netns_run(self, *cmd, check=True, timeout=30, input=None):
        """Runs cmd in the daemon's network namespace: "the host" as its
        containers and published ports see it."""
        res = subprocess.run(["nsenter", "--net=/run/netns/" + self.netns] + list(cmd), capture_output=True,
                             timeout=timeout, input=input)
        res.out = res.stdout.decode(errors="replace")
        res.err = res.stderr.decode(errors="replace")
        if check and res.returncode != 0:
            raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(cmd), res.returncode, res.out, res.err))
        return res

    def client(self, version="1.41"):
        import docker
        return docker.DockerClient(base_url="unix://" + self.sock, version=version, timeout=120)

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = UnixHTTPConnection(self.sock, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict(resp.getheaders()), data
        finally:
            conn.close()

    def json(self, method, path, body=None, expect=200):
        status, _, data = self.request(method, path, body=body)
        assert status == expect, (status, data)
        return json.loads(data) if data else None


@pytest.fixture
def make_daemon(tmp_path_factory):
    """Builds daemons on demand; all are stopped and removed afterwards."""
    made = []

    def make(config=None, args=(), start=True):
        d = Daemon(str(tmp_path_factory.mktemp("berth")), config=config, args=args)
        made.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in made:
        d.destroy()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """A daemon shared by the tests of one module."""
    d = Daemon(str(tmp_path_factory.mktemp("berth-shared")))
    d.start()
    yield d
    rc = d.stop()
    d.destroy()
    assert rc == 0


@pytest.fixture(scope="session")
def fixtures():
    path = os.path.join(FIXTURES, "busybox.tar")
    if not os.path.exists(path):
        subprocess.run(["/usr/bin/python3", os.path.join(REPO, "tests", "fixtures", "mkimages.py"), FIXTURES],
                       check=True)
    return FIXTURES


@pytest.fixture(scope="module")
def busybox(daemon, fixtures):
    """busybox:latest loaded into the module's shared daemon."""
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return "busybox:latest"

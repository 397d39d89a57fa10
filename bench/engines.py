"""The daemons a bench compares: berthd, and Debian's dockerd 20.10 when it
is installed, each in a network namespace of its own with its own data
root, exec root and socket under a temporary directory, all removed when
it stops.  Also a keep-alive API client over the unix socket and the
daemon's idle wakeups and memory, measured the same way for both."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import itertools
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO, "build", "fixtures", "busybox.tar")
DOCKERD = "/usr/sbin/dockerd"
_serial = itertools.count()


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


class Api:
    """One keep-alive connection; call() fails on any status >= 300."""

    def __init__(self, sock):
        self.conn = UnixHTTP(sock)

    def call(self, method, path, body=None, ok=(200, 201, 204, 304)):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        if r.status not in ok:
            raise SystemExit("%s %s: HTTP %d %s" % (method, path, r.status, data[:300]))
        return json.loads(data) if data.strip() and r.getheader("Content-Type", "").startswith("application/json") else data

    def close(self):
        self.conn.close()


class Engine:
    """kind: "berthd" (binary: BERTHD, default build/berthd) or "dockerd"."""

    def __init__(self, kind, binary=None):
        self.kind = kind
        self.binary = binary
        self.tmp = tempfile.mkdtemp(prefix="berth-bench-%s." % kind)
        self.ns = "bench-%s-%d-%d" % (kind[:6], os.getpid(), next(_serial))
        self.sock = os.path.join(self.tmp, "api.sock")
        self.env = dict(os.environ, DOCKER_HOST="unix://" + self.sock,
                        DOCKER_CONFIG=os.path.join(self.tmp, "docker-config"))
        self.proc = None
        self.log = None

    @staticmethod
    def available(kind):
        return kind == "berthd" or (os.access(DOCKERD, os.X_OK) and shutil.which("containerd") is not None)

    def command(self):
        data, exe, pid = (os.path.join(self.tmp, d) for d in ("data", "exec", "pid"))
        if self.kind == "berthd":
            binary = os.path.abspath(self.binary or os.environ.get("BERTHD", os.path.join(REPO, "build", "berthd")))
            cfg = os.path.join(self.tmp, "daemon.json")
            with open(cfg, "w") as f:
                f.write("{}")
            return [binary, "--config-file", cfg, "--data-root", data, "--exec-root", exe,
                    "-H", "unix://" + self.sock, "--pidfile", pid]
        # dockerd starts a containerd of its own (under exec-root) when none
        # is given; no iptables rules, so the host's are untouched.
        return [DOCKERD, "--data-root", data, "--exec-root", exe, "-H", "unix://" + self.sock,
                "--pidfile", pid, "--iptables=false", "--ip-masq=false", "--userland-proxy=false",
                "--config-file", self._empty_config()]

    def _empty_config(self):
        cfg = os.path.join(self.tmp, "dockerd.json")
        with open(cfg, "w") as f:
            f.write("{}")
        return cfg

    def start(self):
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        self.log = open(os.path.join(self.tmp, "daemon.log"), "wb")
        self.proc = subprocess.Popen(["nsenter", "--net=/run/netns/" + self.ns] + self.command(),
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("%s exited at start; see %s" % (self.kind, self.log.name))
            if os.path.exists(self.sock):
                try:
                    a = Api(self.sock)
                    a.call("GET", "/_ping")
                    a.close()
                    break
                except (OSError, SystemExit, http.client.HTTPException):
                    pass
            time.sleep(0.02)
        else:
            raise SystemExit("%s did not answer /_ping" % self.kind)
        self.docker("load", "-q", "-i", FIXTURE)

    def docker(self, *args, check=True):
        return subprocess.run(["docker"] + list(args), env=self.env, capture_output=True, check=check)

    def pid(self):
        return self.proc.pid  # nsenter execs the daemon

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.kind == "dockerd":
            self._kill_leftovers()
        subprocess.run(["ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL)
        with open("/proc/mounts") as f:
            mounts = [line.split()[1] for line in f if line.split()[1].startswith(self.tmp)]
        for m in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)
        if self.log:
            self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _kill_leftovers(self):
        """Shims of containers dockerd did not stop were started by it for
        this bench: each names our temporary directory on its command line."""
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if self.tmp.encode() in cmd:
                try:
                    os.kill(int(p), signal.SIGKILL)
                except ProcessLookupError:
                    pass

    # ---- what the daemon costs when it does nothing ----

    def wakeups_per_s(self, seconds=10):
        """Context switches of all the daemon's threads per second: each is
        a wakeup (a timer, a poll timeout, a futex handoff)."""
        def total():
            n = 0
            for t in os.listdir("/proc/%d/task" % self.pid()):
                try:
                    with open("/proc/%d/task/%s/status" % (self.pid(), t)) as f:
                        for line in f:
                            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                                n += int(line.split()[1])
                except FileNotFoundError:
                    pass
            return n
        a = total()
        time.sleep(seconds)
        return (total() - a) / seconds

    def memory_mb(self):
        """(RSS, private, shared) in MB from smaps_rollup: private pages are
        this process's alone (heap, stacks, library pages only it maps);
        shared ones are library pages other processes map too."""
        v = {}
        with open("/proc/%d/smaps_rollup" % self.pid()) as f:
            for line in f:
                p = line.split()
                if len(p) >= 2 and p[0].endswith(":") and p[1].isdigit():
                    v[p[0][:-1]] = int(p[1])
        private = v.get("Private_Clean", 0) + v.get("Private_Dirty", 0)
        shared = v.get("Shared_Clean", 0) + v.get("Shared_Dirty", 0)
        return v.get("Rss", 0) / 1024.0, private / 1024.0, shared / 1024.0

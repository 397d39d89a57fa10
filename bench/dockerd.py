"""The reference a bench compares berthd with: Debian's dockerd 20.10
(docker.io), started like bench/containers.py's Bench starts berthd, in a
network namespace of its own with its own data root, exec root and socket
under a temporary directory (it starts its own containerd there), stopped
and removed at exit.  No iptables rules: the host's are never touched."""

import json
import os
import shutil
import signal
import subprocess
import time

from containers import Bench

DOCKERD = "/usr/sbin/dockerd"


def available():
    return os.access(DOCKERD, os.X_OK) and shutil.which("containerd") is not None


class Dockerd(Bench):
    def __init__(self):
        super().__init__()
        self.ns = "berth-benchd-%d" % os.getpid()

    def start(self, config=None):
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        cfg = os.path.join(self.tmp, "dockerd.json")
        with open(cfg, "w") as f:
            json.dump(config or {}, f)
        self.log = open(os.path.join(self.tmp, "dockerd.log"), "wb")
        self.proc = subprocess.Popen(["nsenter", "--net=/run/netns/" + self.ns, DOCKERD,
                                      "--data-root", os.path.join(self.tmp, "data"),
                                      "--exec-root", os.path.join(self.tmp, "exec"),
                                      "-H", "unix://" + self.sock, "--pidfile", os.path.join(self.tmp, "pid"),
                                      "--iptables=false", "--ip-masq=false", "--userland-proxy=false",
                                      "--config-file", cfg],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("dockerd exited at start; see %s" % self.log.name)
            if subprocess.run(["docker", "version"], env=self.env, capture_output=True).returncode == 0:
                return
            time.sleep(0.05)
        raise SystemExit("dockerd did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        # containerd and shims it started for this bench name our directory
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    if self.tmp.encode() in f.read():
                        os.kill(int(p), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass
        super().stop()

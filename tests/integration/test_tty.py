"""Interactive sessions through a real pseudo-terminal: docker run -it,
docker exec -it, resize and the detach keys."""

import os
import pty
import select
import time

import pytest

NET = ["--network", "none"]


@pytest.fixture(scope="module")
def d(daemon, fixtures):
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return daemon


class Session:
    def __init__(self, d, *args):
        env = dict(os.environ, DOCKER_HOST="unix://" + d.sock, DOCKER_CONFIG=d.docker_config)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvpe("docker", ["docker"] + list(args), env)
        self.out = b""

    def read_until(self, needle, timeout=10):
        end = time.time() + timeout
        while needle not in self.out and time.time() < end:
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                self.out += data
        return needle in self.out

    def send(self, data):
        os.write(self.fd, data)

    def wait(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.read_until(b"\0", 0.2)
                return os.waitstatus_to_exitcode(status)
            self.read_until(b"\0", 0.1)
        raise AssertionError("docker did not exit: %r" % self.out)


def test_run_it_shell_and_exit_code(d):
    s = Session(d, "run", "-it", "--rm", *NET, "busybox", "sh")
    assert s.read_until(b"/ # ")
    s.send(b"echo hi-$((6*7))\r")
    assert s.read_until(b"hi-42")
    s.send(b"stty size\r")
    assert s.read_until(b"\r\n/ # ")
    s.send(b"exit 5\r")
    assert s.wait() == 5


def test_run_it_detach_keys(d):
    s = Session(d, "run", "-it", "--name", "detachme", *NET, "busybox", "sh")
    assert s.read_until(b"/ # ")
    s.send(b"\x10\x11")   # ctrl-p ctrl-q
    assert s.wait() == 0
    assert d.docker("inspect", "-f", "{{.State.Running}}", "detachme").out.strip() == "true"
    # attach again, with other keys, and leave with them
    s = Session(d, "attach", "--detach-keys", "ctrl-x", "detachme")
    time.sleep(0.3)
    s.send(b"echo back-again\r")
    assert s.read_until(b"back-again")
    s.send(b"\x18")
    s.wait()   # the CLI reports the detach of `docker attach` as an error ("read escape sequence")
    assert b"read escape sequence" in s.out
    assert d.docker("inspect", "-f", "{{.State.Running}}", "detachme").out.strip() == "true"
    d.docker("rm", "-f", "detachme")


def test_exec_it(d):
    cid = d.docker("run", "-d", *NET, "busybox", "sleep", "60").out.strip()
    s = Session(d, "exec", "-it", cid, "sh")
    assert s.read_until(b"# ")
    s.send(b"echo $TERM-$((1+1)); tty >/dev/null && echo tty-$((2+2))\r")
    assert s.read_until(b"tty-4")   # computed, so not the echo of the typed line
    assert b"xterm-2" in s.out
    s.send(b"exit 3\r")
    assert s.wait() == 3
    d.docker("rm", "-f", cid)


def test_tty_output_is_not_multiplexed(d):
    out = d.docker("run", "--rm", "-t", *NET, "busybox", "echo", "raw").out
    assert out == "raw\r\n"
    cid = d.docker("run", "-d", "-t", *NET, "busybox", "sh", "-c", "echo logged; sleep 30").out.strip()
    time.sleep(0.5)
    assert d.docker("logs", cid).out == "logged\r\n"
    d.docker("rm", "-f", cid)


def test_run_t_terminal_in_the_containers_devpts(d):
    # as with runc: the pty is the container's own, and /dev/console is it
    assert d.docker("run", "-t", "--rm", *NET, "busybox", "tty").out == "/dev/pts/0\r\n"
    out = d.docker("run", "-t", "--rm", *NET, "busybox", "sh", "-c", "stat -c %t,%T /dev/console; ls /dev/pts").out
    assert out.split() == ["88,0", "0", "ptmx"]
    assert d.docker("run", "-t", "--rm", "--privileged", *NET, "busybox", "tty").out == "/dev/pts/0\r\n"
    # the user owns it, as runc makes it
    assert d.docker("run", "-t", "--rm", "-u", "1000", *NET, "busybox", "sh", "-c", "stat -c %u:%g $(tty)").out == "1000:5\r\n"

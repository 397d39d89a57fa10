"""live-restore: containers keep running while berthd is stopped or killed
and restarts, and the restarted daemon takes them over (same PIDs, the
logs written meanwhile, attach, exec, stop, rm, exit codes, restart
policies).  Without it, a daemon stop still stops them."""

import json
import os
import signal
import subprocess
import time

import pytest


def load(d, fixtures):
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))


def inspect(d, name):
    return json.loads(d.docker("inspect", name).out)[0]


def wait_for(cond, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def alive(pid):
    """Running, not a zombie waiting for init to reap it."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def live(make_daemon, fixtures):
    d = make_daemon(config={"live-restore": True})
    load(d, fixtures)
    return d


def restart(d, how, down=lambda: True):
    """Stops (SIGTERM) or kills (SIGKILL) the daemon; down() runs while it
    is down and must hold."""
    if how == "kill":
        d.proc.kill()
        d.proc.wait()
        d.proc = None
        d.log.close()
    else:
        assert d.stop() == 0
    assert down()
    d.start()


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_container_survives_daemon_restart(live, how):
    d = live
    d.docker("run", "-d", "--name", "lr", "busybox", "sh", "-c",
             "trap 'echo bye; exit 42' TERM; i=0; while :; do echo line $i; i=$((i+1)); sleep 0.1; done")
    wait_for(lambda: "line 3" in d.docker("logs", "lr").out, what="first lines")
    pid = inspect(d, "lr")["State"]["Pid"]
    assert pid > 0

    # the container goes on writing while no daemon reads
    restart(d, how, down=lambda: time.sleep(1.5) or alive(pid))

    st = inspect(d, "lr")["State"]
    assert st["Status"] == "running" and st["Running"] and st["Pid"] == pid, st
    # every line is there, none lost while the daemon was down
    def all_lines():
        nums = [int(l.split()[1]) for l in d.docker("logs", "lr").out.split("\n") if l.startswith("line ")]
        return nums if len(nums) > 20 else None
    nums = wait_for(all_lines, what="lines written while down")
    assert nums == list(range(len(nums))), nums
    assert "restored (pid %d)" % pid in d.read_log()

    # exec and top work on the restored container
    assert d.docker("exec", "lr", "cat", "/proc/1/cmdline").out.startswith("sh")
    # stop's signal reaches it, its exit code and last words are recorded
    d.docker("stop", "-t", "5", "lr")
    st = inspect(d, "lr")["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 42 and not alive(pid), st
    assert d.docker("logs", "--tail", "1", "lr").out == "bye\n"
    d.docker("rm", "lr")
    wait_for(lambda: not d.monitors(), what="monitor exit")
    assert not os.listdir(os.path.join(d.exec_root, "monitors"))


def test_attach_and_stdin_after_restore(live):
    d = live
    d.docker("run", "-d", "-i", "--name", "cat", "busybox", "sh", "-c",
             'while read l; do [ "$l" = quit ] && exit 3; echo got $l; done')
    restart(d, "kill")
    p = subprocess.Popen(["docker", "attach", "cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env=dict(os.environ, DOCKER_HOST="unix://" + d.sock, DOCKER_CONFIG=d.docker_config))
    time.sleep(1)
    out, _ = p.communicate(b"hello\nquit\n", timeout=30)
    assert out == b"got hello\n", out
    assert p.returncode == 3
    st = inspect(d, "cat")["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 3


def test_exit_while_down_and_restart_policy(live):
    d = live
    d.docker("run", "-d", "--name", "quick", "busybox", "sh", "-c", "sleep 1; echo bye; exit 7")
    d.docker("run", "-d", "--name", "again", "--restart", "on-failure:1", "busybox", "sh", "-c",
             "sleep 1; echo round; exit 5")
    pid = inspect(d, "quick")["State"]["Pid"]
    assert d.stop() == 0
    wait_for(lambda: not alive(pid), what="container exit while down")
    time.sleep(0.5)
    d.start()
    st = inspect(d, "quick")["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 7, st
    assert d.docker("logs", "quick").out == "bye\n"
    # the exit seen at restore counts for the restart policy: one more round
    wait_for(lambda: inspect(d, "again")["RestartCount"] == 1 and
             inspect(d, "again")["State"]["Status"] == "exited", what="restart policy")
    assert inspect(d, "again")["State"]["ExitCode"] == 5
    assert d.docker("logs", "again").out == "round\nround\n"
    wait_for(lambda: not d.monitors(), what="monitors to go")


def test_network_and_tty_after_restore(live):
    d = live
    d.docker("network", "create", "lrnet")
    d.docker("run", "-d", "--name", "web", "--network", "lrnet", "-p", "18080:80", "busybox",
             "httpd", "-f", "-p", "80", "-h", "/etc")
    d.docker("run", "-d", "-t", "--name", "tty", "busybox", "sh", "-c", "while :; do tty; sleep 0.2; done")
    ip = inspect(d, "web")["NetworkSettings"]["Networks"]["lrnet"]["IPAddress"]
    restart(d, "stop")
    assert inspect(d, "web")["NetworkSettings"]["Networks"]["lrnet"]["IPAddress"] == ip
    # the published port and the embedded DNS work again
    out = d.netns_run("sh", "-c", "timeout 10 wget -q -O - http://127.0.0.1:18080/hostname").out
    assert out.strip() == inspect(d, "web")["Config"]["Hostname"]
    d.docker("run", "--rm", "--network", "lrnet", "busybox", "timeout", "10", "wget", "-q", "-O", "/dev/null",
             "http://web/hostname")
    # a new container does not get the address the restored one holds
    d.docker("run", "-d", "--name", "other", "--network", "lrnet", "busybox", "sleep", "60")
    assert inspect(d, "other")["NetworkSettings"]["Networks"]["lrnet"]["IPAddress"] != ip
    wait_for(lambda: "/dev/pts/0" in d.docker("logs", "tty").out, what="tty output")
    n = d.docker("logs", "tty").out.count("/dev/pts/0")
    wait_for(lambda: d.docker("logs", "tty").out.count("/dev/pts/0") > n + 2, what="tty output after restore")
    d.docker("rm", "-f", "web", "tty", "other")
    wait_for(lambda: not d.monitors(), what="monitors to go")


def test_reload_and_info(make_daemon, fixtures):
    d = make_daemon()
    load(d, fixtures)
    assert json.loads(d.docker("info", "--format", "{{json .LiveRestoreEnabled}}").out) is False
    d.docker("run", "-d", "--name", "before", "busybox", "sleep", "600")
    d.write_config({"live-restore": True})
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: json.loads(d.docker("info", "--format", "{{json .LiveRestoreEnabled}}").out) is True,
             what="reload")
    d.docker("run", "-d", "--name", "after", "busybox", "sleep", "600")
    assert d.stop() == 0
    d.start()
    # started before live-restore was on: stopped with the daemon, as before
    assert inspect(d, "before")["State"]["Status"] == "exited"
    assert inspect(d, "after")["State"]["Status"] == "running"
    # turned off again: the next start stops what it finds, as dockerd does
    assert d.stop() == 0
    d.write_config({})
    d.start()
    st = inspect(d, "after")["State"]
    assert st["Status"] == "exited", st
    assert not d.monitors()
    assert "live-restore is off" in d.read_log()


def test_without_live_restore_daemon_stop_stops(make_daemon, fixtures):
    d = make_daemon()
    load(d, fixtures)
    d.docker("run", "-d", "--name", "plain", "busybox", "sleep", "600")
    pid = inspect(d, "plain")["State"]["Pid"]
    restart(d, "kill")
    assert not alive(pid)
    assert inspect(d, "plain")["State"]["Status"] == "exited"
    assert not os.path.exists(os.path.join(d.exec_root, "monitors"))


def test_kill_9_during_starts_leaves_no_stray_monitor(live):
    """kill -9 while containers are being started: after each restart every
    container shown running has its process and one monitor, and no
    monitor is left for anything else."""
    import random
    import threading
    d = live
    rnd = random.Random(int(os.environ.get("BERTH_CHAOS_SEED", "16")))
    for round_no in range(5):
        def burst():
            for i in range(4):
                d.docker("run", "-d", "--network", "none", "busybox", "sleep", "600", check=False, timeout=30)
        t = threading.Thread(target=burst)
        t.start()
        time.sleep(rnd.uniform(0.05, 0.6))
        restart(d, "kill")
        t.join()
        ids = d.docker("ps", "-aq", "--no-trunc").out.split()
        running = []
        for cid in ids:
            st = inspect(d, cid)["State"]
            if st["Running"]:
                assert alive(st["Pid"]), (round_no, cid, st)
                running.append(st["Pid"])
        mons = d.monitors()
        assert len(mons) == len(running), (round_no, mons, running, d.read_log()[-3000:])
    d.docker("rm", "-f", *d.docker("ps", "-aq").out.split())
    wait_for(lambda: not d.monitors(), what="monitors to go")

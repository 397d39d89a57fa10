"""docker run and its flags, through the real CLI."""

import json
import os
import time

import pytest

NET = ["--network", "none"]


@pytest.fixture(scope="module")
def d(daemon, fixtures):
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return daemon


def run(d, *args, check=True, input=None):
    return d.docker("run", "--rm", *NET, *args, check=check, input=input)


def test_foreground_output_and_exit_codes(d):
    assert run(d, "busybox", "echo", "hello").out == "hello\n"
    res = run(d, "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert res.returncode == 3 and res.out == "out\n" and res.err == "err\n"
    res = run(d, "busybox", "nosuchcmd", check=False)
    assert res.returncode == 127 and "executable file not found" in res.err
    res = run(d, "busybox", "/etc", check=False)
    assert res.returncode == 126 and "permission denied" in res.err
    res = d.docker("run", "--rm", *NET, "--restart", "always", "busybox", "true", check=False)
    assert res.returncode == 125
    res = d.docker("run", "--rm", "--network", "nosuchnet", "busybox", "true", check=False)
    assert res.returncode == 125 and "network nosuchnet not found" in res.err
    res = run(d, "busybox", "sh", "-c", "kill -TERM $$; sleep 1; exit 9", check=False)
    assert res.returncode == 9  # PID 1 ignores signals it has no handler for


def test_rm_removes_and_name_conflicts(d):
    run(d, "--name", "gone", "busybox", "true")
    assert "gone" not in d.docker("ps", "-a", "--format", "{{.Names}}").out
    d.docker("create", *NET, "--name", "taken", "busybox", "true")
    res = d.docker("create", *NET, "--name", "taken", "busybox", "true", check=False)
    assert res.returncode != 0 and 'The container name "/taken" is already in use' in res.err
    res = d.docker("create", *NET, "--name", "bad name!", "busybox", "true", check=False)
    assert res.returncode != 0 and "Invalid container name" in res.err
    d.docker("rm", "taken")


def test_env_workdir_entrypoint_hostname(d, tmp_path):
    envfile = tmp_path / "env"
    envfile.write_text("FROM_FILE=yes\n# comment\n")
    out = run(d, "-e", "A=1", "--env-file", str(envfile), "-w", "/made/here", "--hostname", "boxy",
              "busybox", "sh", "-c", "echo $A $FROM_FILE; pwd; hostname; echo $HOSTNAME; echo $HOME").out.split()
    assert out == ["1", "yes", "/made/here", "boxy", "boxy", "/root"]
    assert run(d, "--entrypoint", "echo", "busybox", "from", "entrypoint").out == "from entrypoint\n"
    env = run(d, "busybox", "env").out
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in env


def test_users_and_groups(d):
    # a uid found in the image's passwd takes its primary group from there, as with runc
    assert run(d, "-u", "1000", "busybox", "id").out.strip() == "uid=1000(berth) gid=1000(berth)"
    assert run(d, "-u", "4321", "busybox", "id").out.startswith("uid=4321 gid=0(root)")
    assert run(d, "-u", "berth", "busybox", "id", "-u").out.strip() == "1000"
    assert run(d, "-u", "berth:nogroup", "busybox", "id", "-g").out.strip() == "65534"
    out = run(d, "-u", "berth", "--group-add", "nogroup", "--group-add", "4242", "busybox", "id", "-G").out.split()
    assert "65534" in out and "4242" in out
    res = run(d, "-u", "nobodyknows", "busybox", "id", check=False)
    assert res.returncode != 0 and "unable to find user nobodyknows" in res.err


def test_labels_and_ps_filters(d):
    cid = d.docker("run", "-d", *NET, "--label", "team=blue", "--name", "labelled", "busybox", "sleep", "30").out.strip()
    try:
        assert d.docker("ps", "-q", "--no-trunc", "--filter", "label=team=blue").out.strip() == cid
        assert d.docker("ps", "-q", "--filter", "label=team=red").out.strip() == ""
        assert d.docker("ps", "-q", "--no-trunc", "--filter", "name=labell").out.strip() == cid
        assert d.docker("ps", "-q", "--no-trunc", "--filter", "status=running", "--filter", "ancestor=busybox").out.split() == [cid]
        labels = json.loads(d.docker("inspect", "-f", "{{json .Config.Labels}}", cid).out)
        assert labels["team"] == "blue"
    finally:
        d.docker("rm", "-f", cid)


def test_init_reaps_and_forwards(d):
    out = run(d, "--init", "busybox", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '").out
    assert out.startswith("/sbin/docker-init -- sh -c")
    # a zombie left by an orphan is reaped by the init: its /proc entry
    # goes away (a zombie keeps one), waited for up to 10 s
    out = run(d, "--init", "busybox", "sh", "-c",
              "(sh -c 'sleep 0.1 & echo $! > /tmp/orphan; exit 0'); p=$(cat /tmp/orphan); "
              "for i in $(seq 100); do [ -e /proc/$p ] || break; sleep 0.1; done; "
              "[ -e /proc/$p ] && echo left || echo reaped").out.strip()
    assert out == "reaped"
    cid = d.docker("run", "-d", *NET, "--init", "busybox", "sh", "-c",
                   "trap 'exit 42' TERM; while :; do sleep 0.1; done").out.strip()
    d.docker("stop", cid)
    assert d.docker("inspect", "-f", "{{.State.ExitCode}}", cid).out.strip() == "42"
    d.docker("rm", cid)


def test_read_only_and_tmpfs(d):
    res = run(d, "--read-only", "busybox", "touch", "/x", check=False)
    assert res.returncode != 0 and "Read-only file system" in res.err
    out = run(d, "--read-only", "--tmpfs", "/scratch:rw,size=1m", "busybox", "sh", "-c",
              "echo ok > /scratch/f && cat /scratch/f && grep /scratch /proc/mounts").out
    assert out.startswith("ok\n") and "tmpfs" in out and "size=1024k" in out and "noexec" in out


def test_stop_signal_and_timeout(d):
    cid = d.docker("run", "-d", *NET, "--stop-signal", "USR1", "busybox", "sh", "-c",
                   "trap 'exit 11' USR1; while :; do sleep 0.1; done").out.strip()
    d.docker("stop", cid)
    assert d.docker("inspect", "-f", "{{.State.ExitCode}}", cid).out.strip() == "11"
    d.docker("rm", cid)
    cid = d.docker("run", "-d", *NET, "--stop-timeout", "1", "busybox", "sleep", "60").out.strip()
    start = time.time()
    d.docker("stop", cid)
    took = time.time() - start
    assert 0.8 < took < 9  # the 1 s timeout, not the default 10 s (slack for a loaded machine)
    assert d.docker("inspect", "-f", "{{.State.ExitCode}}", cid).out.strip() == "137"
    d.docker("rm", cid)


def test_capabilities_and_security_opts(d):
    caps = run(d, "busybox", "grep", "CapEff", "/proc/self/status").out.split()[1]
    assert caps == "00000000a80425fb"
    caps = run(d, "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "busybox", "grep", "CapEff", "/proc/self/status").out.split()[1]
    assert caps == "0000000000001000"
    res = run(d, "--cap-add", "BOGUS", "busybox", "true", check=False)
    assert res.returncode != 0 and "BOGUS" in res.err
    assert run(d, "--security-opt", "no-new-privileges", "busybox", "grep", "NoNewPrivs",
               "/proc/self/status").out.split()[1] == "1"
    assert run(d, "busybox", "grep", "Seccomp:", "/proc/self/status").out.split()[1] == "2"
    assert run(d, "--security-opt", "seccomp=unconfined", "busybox", "grep", "Seccomp:",
               "/proc/self/status").out.split()[1] == "0"
    # the default profile and caps stop mount and unshare; privileged allows them
    assert run(d, "busybox", "sh", "-c", "mount -t tmpfs t /tmp", check=False).returncode != 0
    assert run(d, "busybox", "unshare", "-m", "true", check=False).returncode != 0
    assert run(d, "--privileged", "busybox", "sh", "-c", "mount -t tmpfs t /tmp && unshare -m true").returncode == 0


def test_custom_seccomp_profile(d, tmp_path):
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                                   "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}))
    res = run(d, "--security-opt", "seccomp=" + str(profile), "busybox", "mkdir", "/x", check=False)
    assert res.returncode != 0 and "Operation not permitted" in res.err


def test_ulimits_shm_sysctl_device(d):
    out = run(d, "--ulimit", "nofile=1024:2048", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn").out.split()
    assert out == ["1024", "2048"]
    out = run(d, "--shm-size", "8m", "busybox", "df", "-k", "/dev/shm").out
    assert " 8192 " in out
    assert run(d, "--sysctl", "net.ipv4.ip_forward=1", "busybox", "cat", "/proc/sys/net/ipv4/ip_forward").out.strip() == "1"
    res = run(d, "--sysctl", "kernel.hostname=x", "busybox", "true", check=False)
    assert res.returncode != 0 and "not allowed" in res.err
    out = run(d, "--device", "/dev/zero:/dev/myzero", "busybox", "sh", "-c", "ls -l /dev/myzero; head -c 3 /dev/myzero | od -An -tx1").out
    assert out.startswith("crw") and "00 00 00" in out
    devs = sorted(run(d, "busybox", "ls", "/dev").out.split())
    assert devs == sorted(["console", "core", "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm",
                           "stderr", "stdin", "stdout", "tty", "urandom", "zero"]) or \
        devs == sorted(["fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
                        "stdout", "tty", "urandom", "zero"])


def test_resources_in_cgroups(d):
    cid = d.docker("run", "-d", *NET, "--memory", "32m", "--memory-swap", "64m", "--cpus", "0.5", "--cpu-shares", "512",
                   "--cpuset-cpus", "0", "--pids-limit", "50", "busybox", "sleep", "30").out.strip()
    try:
        base = "/sys/fs/cgroup"
        if os.path.exists(os.path.join(base, "memory")):
            read = lambda ctl, f: open(os.path.join(base, ctl, "berth", cid, f)).read().strip()
            assert read("memory", "memory.limit_in_bytes") == str(32 << 20)
            if os.path.exists(os.path.join(base, "memory", "berth", cid, "memory.memsw.limit_in_bytes")):
                assert read("memory", "memory.memsw.limit_in_bytes") == str(64 << 20)
            assert read("cpu", "cpu.cfs_quota_us") == "50000"
            assert read("cpu", "cpu.shares") == "512"
            assert read("cpuset", "cpuset.cpus") == "0"
            assert read("pids", "pids.max") == "50"
        else:
            read = lambda f: open(os.path.join(base, "berth", cid, f)).read().strip()
            assert read("memory.max") == str(32 << 20)
            assert read("cpu.max") == "50000 100000"
            assert read("pids.max") == "50"
        hc = json.loads(d.docker("inspect", "-f", "{{json .HostConfig}}", cid).out)
        assert hc["Memory"] == 32 << 20 and hc["NanoCpus"] == 500000000 and hc["PidsLimit"] == 50
        # the pids limit holds inside
        res = d.docker("exec", cid, "sh", "-c", "for i in $(seq 80); do sleep 5 & done; wait", check=False)
        assert res.returncode != 0 or "fork" in res.err.lower() or "resource" in res.err.lower()
    finally:
        d.docker("rm", "-f", cid)
    res = run(d, "--memory", "1m", "busybox", "true", check=False)
    assert res.returncode == 125 and "Minimum memory limit allowed is 6MB" in res.err


def test_oom_kill(d):
    cid = d.docker("run", "-d", *NET, "--memory", "16m", "--memory-swap", "16m", "busybox", "sh", "-c",
                   "x=a; while :; do x=$x$x$x$x; done").out.strip()
    assert d.docker("wait", cid, timeout=60).out.strip() == "137"
    st = json.loads(d.docker("inspect", "-f", "{{json .State}}", cid).out)
    assert st["OOMKilled"] is True and st["ExitCode"] == 137
    d.docker("rm", cid)


def test_namespace_modes(d):
    host_uts = open("/proc/sys/kernel/hostname").read().strip()
    assert run(d, "--uts", "host", "busybox", "hostname").out.strip() == host_uts
    host_pids = run(d, "--pid", "host", "busybox", "sh", "-c", "ls /proc | grep -c '^[0-9]'").out.strip()
    assert int(host_pids) > 5
    assert run(d, "busybox", "sh", "-c", "ls /proc | grep -c '^[0-9]'").out.strip() in ("1", "2", "3")
    cid = d.docker("run", "-d", *NET, "--ipc", "shareable", "--hostname", "first", "busybox", "sleep", "30").out.strip()
    try:
        d.docker("exec", cid, "sh", "-c", "echo shared > /dev/shm/x")
        assert run(d, "--ipc", "container:" + cid, "busybox", "cat", "/dev/shm/x").out.strip() == "shared"
        net = d.docker("exec", cid, "readlink", "/proc/self/ns/net").out.strip()
        res = d.docker("run", "--rm", "--network", "container:" + cid, "busybox", "readlink", "/proc/self/ns/net")
        assert res.out.strip() == net
    finally:
        d.docker("rm", "-f", cid)
    out = d.docker("run", "--rm", "--network", "host", "busybox", "sh", "-c", "ls /sys/class/net").out.split()
    assert "lo" in out


def test_docker_py_run(d):
    c = d.client()
    out = c.containers.run("busybox", ["echo", "from-py"], network_mode="none", remove=True)
    assert out == b"from-py\n"
    ctr = c.containers.run("busybox", ["sleep", "30"], network_mode="none", detach=True, name="pyctr")
    try:
        ctr.reload()
        assert ctr.status == "running"
        assert ctr.exec_run(["echo", "x"]).output == b"x\n"
        code, out = ctr.exec_run("sh -c 'exit 4'")
        assert code == 4
    finally:
        ctr.remove(force=True)

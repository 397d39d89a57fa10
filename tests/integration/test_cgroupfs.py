"""The cgroup filesystem inside a container (issue 17), as dockerd shows it
through runc: on cgroup v1 every hierarchy read-only at the container's own
cgroup, on v2 cgroup2 in a private cgroup namespace; --cgroupns,
default-cgroupns-mode and --device-cgroup-rule."""

import json
import os

import pytest

HOST_V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")


@pytest.fixture(scope="module")
def image(busybox):
    return busybox


def run(daemon, *args, check=True):
    return daemon.docker("run", "--rm", "--network", "none", *args, check=check)


v1_only = pytest.mark.skipif(HOST_V2, reason="the host has cgroup v2")


@v1_only
def test_memory_limit_visible_inside(daemon, image):
    out = run(daemon, "--memory", "32m", image, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes").out
    assert out.strip() == "33554432"
    # cpu quota and pids limit through their own hierarchies too
    out = run(daemon, "--cpus", "0.5", "--pids-limit", "17", image, "sh", "-c",
              "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max").out
    assert out.split() == ["50000", "17"]


@v1_only
def test_hierarchies_read_only_and_no_unified(daemon, image):
    out = run(daemon, image, "sh", "-c",
              "ls /sys/fs/cgroup; grep ' /sys/fs/cgroup' /proc/mounts; "
              "echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes && echo WROTE; "
              "mkdir /sys/fs/cgroup/x && echo MADE; true").out
    names = out.split("\n")[0:20]
    for ctrl in ("memory", "cpu", "pids", "devices", "blkio", "freezer"):
        assert ctrl in names, out
    # a hybrid host's cgroup2 beside v1 is not shown, as with runc
    assert "unified" not in names
    mounts = [l.split() for l in out.splitlines() if l.startswith(("tmpfs /sys/fs/cgroup", "cgroup /sys/fs/cgroup"))]
    assert mounts and all(m[3].split(",")[0] == "ro" for m in mounts), out
    assert all("nosuid" in m[3] and "nodev" in m[3] and "noexec" in m[3] for m in mounts), out
    assert "WROTE" not in out and "MADE" not in out


@v1_only
def test_privileged_cgroups_writable(daemon, image):
    out = run(daemon, "--privileged", image, "grep", " /sys/fs/cgroup/memory ", "/proc/mounts").out
    assert out.split()[3].split(",")[0] == "rw", out


@v1_only
def test_cgroupns_modes(daemon, image):
    # v1's default is dockerd's: host
    cid = daemon.docker("create", "--network", "none", image, "cat", "/proc/self/cgroup").out.strip()
    try:
        assert daemon.json("GET", "/containers/%s/json" % cid)["HostConfig"]["CgroupnsMode"] == "host"
        daemon.docker("start", "-a", cid)
        lines = daemon.docker("logs", cid).out.splitlines()
        assert any(l.endswith(":memory:/berth/" + cid) for l in lines), lines
    finally:
        daemon.docker("rm", "-f", cid)
    out = run(daemon, "--cgroupns", "private", "--memory", "32m", image, "sh", "-c",
              "cat /proc/self/cgroup; cat /sys/fs/cgroup/memory/memory.limit_in_bytes").out.splitlines()
    assert "4:memory:/" in out or any(l.endswith(":memory:/") for l in out), out
    assert out[-1] == "33554432"
    # the private namespace differs from the daemon's, the host one is it
    own = os.readlink("/proc/self/ns/cgroup")
    assert run(daemon, "--cgroupns", "host", image, "readlink", "/proc/self/ns/cgroup").out.strip() == own
    assert run(daemon, "--cgroupns", "private", image, "readlink", "/proc/self/ns/cgroup").out.strip() != own


def test_cgroupns_mode_refused(daemon, image):
    body = json.dumps({"Image": image, "HostConfig": {"CgroupnsMode": "bogus"}})
    status, _, data = daemon.request("POST", "/containers/create", body=body,
                                     headers={"Content-Type": "application/json"})
    assert status == 400
    assert json.loads(data)["message"] == "invalid cgroup namespace mode: bogus"


def test_default_cgroupns_mode_private(make_daemon, fixtures):
    d = make_daemon(config={"default-cgroupns-mode": "private"})
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    cid = d.docker("create", "--network", "none", "busybox", "true").out.strip()
    assert d.json("GET", "/containers/%s/json" % cid)["HostConfig"]["CgroupnsMode"] == "private"
    # a container's own choice wins over the default
    cid = d.docker("create", "--network", "none", "--cgroupns", "host", "busybox", "true").out.strip()
    assert d.json("GET", "/containers/%s/json" % cid)["HostConfig"]["CgroupnsMode"] == "host"


@v1_only
def test_device_cgroup_rule_in_devices_list(daemon, image):
    out = run(daemon, "--device-cgroup-rule", "c 42:* rmw", "--device-cgroup-rule", "b 7:3 r", image,
              "cat", "/sys/fs/cgroup/devices/devices.list").out.splitlines()
    assert "c 42:* rwm" in out and "b 7:3 r" in out, out
    assert "c 1:3 rwm" in out   # Docker's default list beside them


def test_device_cgroup_rule_refused_at_start(daemon, image):
    body = json.dumps({"Image": image, "Cmd": ["true"],
                       "HostConfig": {"NetworkMode": "none", "DeviceCgroupRules": ["c 1:3 rwx"]}})
    status, _, data = daemon.request("POST", "/containers/create", body=body,
                                     headers={"Content-Type": "application/json"})
    assert status == 201, data
    cid = json.loads(data)["Id"]
    try:
        status, _, data = daemon.request("POST", "/containers/%s/start" % cid)
        assert status == 400, data
        assert "invalid device cgroup rule format: 'c 1:3 rwx'" in json.loads(data)["message"]
    finally:
        daemon.docker("rm", "-f", cid)


@v1_only
def test_userns_remap_cgroups_writable_but_not_owned(make_daemon, fixtures):
    # dockerd clears "ro" with userns-remap; the remapped root still owns
    # none of the files, so the limit stays the host's to change
    d = make_daemon(args=["--userns-remap", "default"])
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    out = d.docker("run", "--rm", "--network", "none", "--memory", "32m", "busybox", "sh", "-c",
                   "grep ' /sys/fs/cgroup/memory ' /proc/mounts; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
                   "echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes && echo WROTE; true").out.splitlines()
    assert out[0].split()[3].split(",")[0] == "rw", out
    assert out[1] == "33554432" and "WROTE" not in out, out

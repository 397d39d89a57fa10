"""dockerd's daemon.json and flags: every key known, ignored keys warned,
values checked with dockerd's messages, container defaults applied, SIGHUP
reloads the reloadable keys, docker info shows them."""

import json
import os
import signal
import subprocess
import time

from conftest import BERTHD

# A daemon.json of an ordinary dockerd host, with the keys berthd acts on
# and the ones it accepts and ignores.
ORDINARY = {
    "log-driver": "json-file",
    "log-opts": {"max-size": "10m", "max-file": "3"},
    "dns": ["192.0.2.53"],
    "dns-opts": ["ndots:2"],
    "dns-search": ["example.com"],
    "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 4096, "Soft": 2048}},
    "default-shm-size": "128M",
    "labels": ["env=test", "rack=r1"],
    "experimental": True,
    "features": {"buildkit": True},
    "live-restore": True,
    "max-concurrent-downloads": 10,
    "max-concurrent-uploads": 5,
    "max-download-attempts": 5,
    "exec-opts": ["native.cgroupdriver=cgroupfs"],
    "default-runtime": "runc",
    "shutdown-timeout": 20,
    "proxies": {"http-proxy": "http://user:secret@proxy.example:3128", "no-proxy": "localhost"},
    "containerd": "/run/containerd/containerd.sock",
    "cgroup-parent": "docker.slice",
    "swarm-default-advertise-addr": "eth0",
    "default-network-opts": {"bridge": {"com.docker.network.driver.mtu": "1400"}},
    "no-new-privileges": True,
    "log-format": "text",
    "raw-logs": True,
}


def run_berthd(*args):
    return subprocess.run([BERTHD] + list(args), capture_output=True, text=True, timeout=20)


def validate(tmp_path, config, *args):
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps(config))
    return run_berthd("--config-file", str(path), *args, "--validate")


def test_ordinary_daemon_json_starts_and_warns(make_daemon, fixtures):
    d = make_daemon(config=ORDINARY)
    log = d.read_log()
    for key in ("containerd", "cgroup-parent", "swarm-default-advertise-addr",
                "default-network-opts"):
        assert 'Configuration option \\"%s\\" is accepted but ignored' % key in log, key
    # implemented keys are not warned about
    for key in ("log-opts", "dns", "labels", "default-ulimits", "no-new-privileges", "max-concurrent-downloads",
                "live-restore"):
        assert 'option \\"%s\\" is accepted' % key not in log, key
    info = json.loads(d.docker("info", "--format", "{{json .}}").out)
    assert info["Labels"] == ["env=test", "rack=r1"]
    assert info["ExperimentalBuild"] is True
    assert info["LoggingDriver"] == "json-file"
    assert info["HttpProxy"] == "http://xxxxx:xxxxx@proxy.example:3128"
    assert info["NoProxy"] == "localhost"
    assert "name=no-new-privileges" in info["SecurityOptions"]
    assert any('"containerd"' in w for w in info["Warnings"])

    # container defaults reach new containers
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    d.docker("create", "--name", "c1", "--network", "none", "busybox", "true")
    hc = json.loads(d.docker("inspect", "c1").out)[0]["HostConfig"]
    assert hc["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}
    assert hc["ShmSize"] == 128 * 1024 * 1024
    assert {"Name": "nofile", "Hard": 4096, "Soft": 2048} in hc["Ulimits"]
    assert hc["Dns"] == ["192.0.2.53"] and hc["DnsSearch"] == ["example.com"]
    assert "no-new-privileges" in hc["SecurityOpt"]
    # the container's own values win
    d.docker("create", "--name", "c2", "--network", "none", "--ulimit", "nofile=100:200", "--shm-size", "1m",
             "--log-opt", "max-size=1m", "busybox", "true")
    hc = json.loads(d.docker("inspect", "c2").out)[0]["HostConfig"]
    assert hc["ShmSize"] == 1024 * 1024
    assert [u for u in hc["Ulimits"] if u["Name"] == "nofile"] == [{"Name": "nofile", "Hard": 200, "Soft": 100}]
    assert hc["LogConfig"]["Config"] == {"max-size": "1m", "max-file": "3"}
    # the daemon's ulimit is what the process gets
    out = d.docker("run", "--rm", "--network", "none", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn").out.split()
    assert out == ["2048", "4096"]


def test_values_checked_with_dockerd_messages(tmp_path):
    cases = [
        ({"labels": ["novalue"]}, "bad attribute format: novalue"),
        ({"labels": ["a=1", "a=2"]}, "conflict labels for a=2 and a=1"),
        ({"max-concurrent-downloads": -1}, "invalid max concurrent downloads: -1"),
        ({"max-download-attempts": -2}, "invalid max download attempts: -2"),
        ({"dns": ["not-an-ip"]}, "not-an-ip is not an ip address"),
        ({"dns-search": ["-bad-"]}, "-bad- is not a valid domain"),
        ({"exec-opts": ["native.cgroupdriver=systemd"]}, "systemd is not supported"),
        ({"exec-opts": ["foo=bar"]}, "invalid exec-opt (foo=bar): unknown option: 'foo'"),
        ({"exec-opts": ["nonsense"]}, "must be formatted 'opt=value'"),
        ({"default-ipc-mode": "host"}, 'IPC mode "host" is not supported as default value'),
        ({"default-cgroupns-mode": "bogus"}, 'invalid default cgroup namespace (bogus): use "host" or "private"'),
        ({"log-format": "xml"}, "invalid log format: xml"),
        ({"log-driver": "nosuch"}, "logger: no log driver named 'nosuch' is registered"),
        ({"log-opts": {"bogus": "1"}}, "unknown log opt 'bogus' for json-file log driver"),
        ({"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 1, "Soft": 2}}},
         "ulimit soft limit must be less than or equal to hard limit: 2 > 1"),
        ({"default-runtime": "crun"}, "specified default runtime 'crun' does not exist"),
        ({"default-shm-size": "lots"}, "invalid size: 'lots'"),
        ({"seccomp-profile": "/no/such/profile.json"}, "opening seccomp profile (/no/such/profile.json) failed"),
        ({"api-cors-header": "*"}, "api-cors-header"),
        ({"firewall-backend": "pf"}, 'allowed values are "iptables" and "nftables"'),
        ({"host-gateway-ip": "10.0.0.1", "host-gateway-ips": ["10.0.0.1"]},
         "host-gateway-ip and host-gateway-ips must not both be specified"),
        ({"debug": "yes"}, 'invalid value for "debug": expected a boolean'),
    ]
    for config, message in cases:
        res = validate(tmp_path, config)
        assert res.returncode != 0, config
        assert message in res.stderr, (config, res.stderr)


def test_flags_match_file_keys(tmp_path):
    res = validate(tmp_path, {}, "--label", "a=b", "--default-ulimit", "nofile=10:20", "--log-opt", "max-size=1m",
                   "--dns", "192.0.2.1", "--exec-opt", "native.cgroupdriver=cgroupfs", "--default-shm-size", "1g",
                   "--feature", "buildkit=false", "--containerd", "/run/c.sock")
    assert res.returncode == 0, res.stderr
    assert "configuration OK" in res.stdout
    assert 'Configuration option \\"containerd\\" is accepted but ignored' in res.stderr
    res = validate(tmp_path, {}, "--default-ulimit", "nofile=20:10")
    assert "ulimit soft limit must be less than or equal to hard limit: 20 > 10" in res.stderr
    res = validate(tmp_path, {}, "--default-ulimit", "bogus=1")
    assert "invalid ulimit type: bogus" in res.stderr
    # a flag and its key in the file conflict, with dockerd's message; proxies are masked
    res = validate(tmp_path, {"proxies": {"http-proxy": "http://a:b@p:1"}}, "--http-proxy", "http://c:d@q:2")
    assert "specified both as a flag and in the configuration file: http-proxy: (from flag: http://xxxxx:xxxxx@q:2, from file: http://xxxxx:xxxxx@p:1)" in res.stderr
    res = validate(tmp_path, {"labels": ["a=b"]}, "--label", "c=d")
    assert "labels: (from flag:" in res.stderr


def test_log_format_json(make_daemon):
    d = make_daemon(config={"log-format": "json"})
    lines = [l for l in d.read_log().splitlines() if l.startswith("{")]
    assert lines, d.read_log()
    entry = json.loads(lines[0])
    assert set(entry) == {"level", "msg", "time"}
    assert any("Starting up" in json.loads(l)["msg"] for l in lines)


def wait_log(d, text, timeout=10):
    deadline = time.time() + timeout
    while text not in d.read_log() and time.time() < deadline:
        time.sleep(0.05)
    return text in d.read_log()


def test_sighup_reloads_reloadable_keys(make_daemon, fixtures):
    d = make_daemon(config={"labels": ["a=1"], "default-shm-size": "64M", "dns": ["192.0.2.1"]})
    d.write_config({"labels": ["a=2", "b=3"], "default-shm-size": "32M", "debug": True,
                    "default-ulimits": {"nproc": {"Name": "nproc", "Soft": 500, "Hard": 600}},
                    "dns": ["192.0.2.1"], "max-concurrent-downloads": 7})
    d.proc.send_signal(signal.SIGHUP)
    assert wait_log(d, "Reloaded configuration: ")
    line = [l for l in d.read_log().splitlines() if "Reloaded configuration: " in l][-1]
    assert '\\"max-concurrent-downloads\\":7' in line and '\\"labels\\":[\\"a=2\\",\\"b=3\\"]' in line
    info = json.loads(d.docker("info", "--format", "{{json .}}").out)
    assert info["Labels"] == ["a=2", "b=3"]
    assert info["Debug"] is True
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    d.docker("create", "--name", "after", "--network", "none", "busybox", "true")
    hc = json.loads(d.docker("inspect", "after").out)[0]["HostConfig"]
    assert hc["ShmSize"] == 32 * 1024 * 1024
    assert {"Name": "nproc", "Soft": 500, "Hard": 600} in hc["Ulimits"]
    # a bad value is refused as a whole: nothing changes
    d.write_config({"labels": ["a=9"], "max-concurrent-downloads": -1, "dns": ["192.0.2.1"]})
    d.proc.send_signal(signal.SIGHUP)
    assert wait_log(d, "invalid max concurrent downloads: -1")
    assert json.loads(d.docker("info", "--format", "{{json .}}").out)["Labels"] == ["a=2", "b=3"]
    # a non-reloadable key changed in the file is not taken over
    d.write_config({"dns": ["192.0.2.99"]})
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    d.docker("create", "--name", "after2", "--network", "none", "busybox", "true")
    hc = json.loads(d.docker("inspect", "after2").out)[0]["HostConfig"]
    assert hc["Dns"] == ["192.0.2.1"]


def test_container_log_opts_checked_at_create(make_daemon, fixtures):
    d = make_daemon()
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    res = d.docker("create", "--log-opt", "bogus=1", "busybox", "true", check=False)
    assert res.returncode != 0
    assert "unknown log opt 'bogus' for json-file log driver" in res.err
    res = d.docker("create", "--log-driver", "nosuch", "busybox", "true", check=False)
    assert "logger: no log driver named 'nosuch' is registered" in res.err
    res = d.docker("create", "--log-driver", "gelf", "busybox", "true", check=False)
    assert "gelf-address is a required parameter" in res.err

"""metrics-addr: Prometheus text at /metrics with dockerd's engine_daemon_*
names, fetched with a plain HTTP GET inside the daemon's network namespace."""

import os
import re
import shutil
import subprocess

import pytest

ADDR = "127.0.0.1:9323"


def scrape(d, path="/metrics"):
    code = ("import http.client,sys; c=http.client.HTTPConnection('127.0.0.1', 9323, timeout=10); "
            "c.request('GET', %r); r=c.getresponse(); sys.stdout.write(str(r.status)+'\\n'+"
            "r.getheader('Content-Type')+'\\n'+r.read().decode())" % path)
    out = d.netns_run("/usr/bin/python3", "-c", code).out
    status, ctype, body = out.split("\n", 2)
    return int(status), ctype, body


def samples(body):
    vals = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            vals[name] = float(value)
    return vals


def test_metrics_endpoint(make_daemon, fixtures):
    d = make_daemon(config={"metrics-addr": ADDR})
    assert "Metrics listening on " + ADDR in d.read_log()
    status, ctype, body = scrape(d)
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    assert "# TYPE engine_daemon_engine_info gauge" in body
    assert re.search(r'engine_daemon_engine_info\{architecture="[^"]+",commit="[^"]*",daemon_id="[0-9a-f]{64}"', body)
    v = samples(body)
    assert v['engine_daemon_container_states_containers{state="running"}'] == 0
    assert v["engine_daemon_engine_cpus_cpus"] >= 1

    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    d.docker("run", "-d", "--name", "up", "--network", "none", "busybox", "sleep", "60")
    d.docker("run", "--name", "done", "--network", "none", "busybox", "true")
    v = samples(scrape(d)[2])
    assert v['engine_daemon_container_states_containers{state="running"}'] == 1
    assert v['engine_daemon_container_states_containers{state="stopped"}'] == 1
    assert v['berth_events_total{type="container",action="start"}'] == 2
    assert v['berth_events_total{type="container",action="die"}'] == 1
    assert v["engine_daemon_events_total"] >= 6  # load + creates, starts, die...
    d.docker("stop", "-t", "1", "up")
    v = samples(scrape(d)[2])
    assert v['engine_daemon_container_states_containers{state="stopped"}'] == 2
    assert v['engine_daemon_container_states_containers{state="running"}'] == 0

    assert scrape(d, "/other")[0] == 404
    promtool = shutil.which("promtool")
    if promtool:
        res = subprocess.run([promtool, "check", "metrics"], input=scrape(d)[2], capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr


def test_metrics_addr_in_use_fails_start(make_daemon):
    d = make_daemon(config={"metrics-addr": "127.0.0.1:9323"})
    other = make_daemon(config={"metrics-addr": "127.0.0.1:9323"}, start=False)
    other.netns = d.netns  # same namespace: the port is taken
    other.start(wait=False)
    rc = other.proc.wait(20)
    other.proc = None
    assert rc != 0
    assert "failed to listen on metrics address 127.0.0.1:9323" in other.read_log()

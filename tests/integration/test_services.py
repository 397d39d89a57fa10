"""Swarm services on one node: create, ls, ps, scale, rolling update,
rollback, logs, rm, restart policy, and convergence after kill -9 of the
daemon, through the docker CLI and docker-py."""

import json
import os
import subprocess
import time

import pytest


@pytest.fixture(scope="module")
def d(daemon, fixtures):
    daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    daemon.docker("tag", "busybox:latest", "busybox:v2")
    return daemon


def wait_for(what, cond, timeout=30):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def replicas(d, name):
    return d.docker("service", "ls", "--filter", "name=" + name, "--format", "{{.Replicas}}").out.strip()


def running_tasks(d, name):
    out = d.docker("service", "ps", "--filter", "desired-state=running", "--format",
                   "{{.Name}} {{.CurrentState}}", name).out.split("\n")
    return [l for l in out if " Running " in " " + l + " "]


def containers_of(d, name):
    return d.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=" + name).out.split()


def test_create_ls_ps_scale_rm(d):
    sid = d.docker("service", "create", "-d", "--name", "web", "--replicas", "3", "--stop-grace-period", "1s",
                   "--label", "tier=front", "busybox", "sleep", "1000").out.strip()
    assert len(sid) == 25
    wait_for("3/3", lambda: replicas(d, "web") == "3/3")
    ls = d.docker("service", "ls", "--format", "{{.Name}} {{.Mode}} {{.Image}}").out.strip()
    assert ls == "web replicated busybox:latest"
    names = sorted(d.docker("ps", "--format", "{{.Names}}").out.split())
    assert [n.rsplit(".", 1)[0] for n in names] == ["web.1", "web.2", "web.3"]
    cid = containers_of(d, "web")[0]
    labels = json.loads(d.docker("inspect", "-f", "{{json .Config.Labels}}", cid).out)
    for key in ("com.docker.swarm.service.id", "com.docker.swarm.service.name", "com.docker.swarm.task.id",
                "com.docker.swarm.task.name", "com.docker.swarm.node.id"):
        assert key in labels
    assert labels["com.docker.swarm.service.id"] == sid
    svc = json.loads(d.docker("service", "inspect", "web").out)[0]
    assert svc["Spec"]["Labels"] == {"tier": "front"} and svc["Version"]["Index"] > 0
    assert "Berth" not in svc

    d.docker("service", "scale", "-d", "web=10")
    wait_for("10/10", lambda: replicas(d, "web") == "10/10")
    assert len(containers_of(d, "web")) == 10
    d.docker("service", "scale", "-d", "web=2")
    wait_for("2 containers", lambda: len(containers_of(d, "web")) == 2)
    assert replicas(d, "web") == "2/2"
    slots = sorted(n.split()[0] for n in running_tasks(d, "web"))
    assert slots == ["web.1", "web.2"]

    d.docker("service", "rm", "web")
    wait_for("no containers", lambda: d.docker("ps", "-aq", "--filter", "label=com.docker.swarm.service.name=web").out.strip() == "")
    assert d.docker("service", "ls", "-q").out.strip() == ""
    res = d.docker("service", "inspect", "web", check=False)
    assert res.returncode != 0 and "no such service" in res.err.lower()


def test_cli_progress_converges_and_rolling_update_rollback(d):
    out = d.docker("service", "create", "--name", "roll", "--replicas", "2", "--stop-grace-period", "1s",
                   "--update-parallelism", "1", "busybox", "sleep", "1000").out
    assert "converged" in out
    d.docker("service", "update", "-d", "--image", "busybox:v2", "roll")
    wait_for("update completed",
             lambda: json.loads(d.docker("service", "inspect", "-f", "{{json .UpdateStatus}}", "roll").out or "null")
             and json.loads(d.docker("service", "inspect", "-f", "{{json .UpdateStatus}}", "roll").out)["State"] == "completed")
    images = d.docker("service", "ps", "--filter", "desired-state=running", "--format", "{{.Image}}", "roll").out.split()
    assert images == ["busybox:v2", "busybox:v2"]
    # The old tasks stay as history, shut down.
    hist = d.docker("service", "ps", "--format", "{{.Image}} {{.DesiredState}}", "roll").out.split("\n")
    assert hist.count("busybox:latest Shutdown") == 2
    d.docker("service", "rollback", "-d", "roll")
    wait_for("rolled back", lambda: d.docker("service", "ps", "--filter", "desired-state=running", "--format",
                                             "{{.Image}} {{.CurrentState}}", "roll").out.count("busybox:latest Running") == 2)
    assert d.docker("service", "inspect", "-f", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", "roll").out.strip() == "busybox:latest"
    # A stale version is refused as swarmkit refuses it.
    svc = json.loads(d.docker("service", "inspect", "roll").out)[0]
    status, _, body = d.request("POST", "/v1.47/services/%s/update?version=1" % svc["ID"],
                                body=json.dumps(svc["Spec"]), headers={"Content-Type": "application/json"})
    assert status in (500, 503) and "update out of sequence" in json.loads(body)["message"]
    d.docker("service", "rm", "roll")


def test_logs_rejected_image_and_restart_policy(d):
    d.docker("service", "create", "-d", "--name", "talk", "--replicas", "2", "--stop-grace-period", "1s",
             "--restart-delay", "1s", "busybox", "sh", "-c", "echo hello from $(hostname); sleep 1000")
    wait_for("2/2", lambda: replicas(d, "talk") == "2/2")
    logs = wait_for("logs", lambda: d.docker("service", "logs", "talk").out if
                    d.docker("service", "logs", "talk").out.count("hello from") == 2 else None)
    assert logs.count("talk.1.") == 1 and logs.count("talk.2.") == 1 and "@" in logs
    # A task container killed by hand is replaced by the restart policy.
    victim = containers_of(d, "talk")[0]
    d.docker("kill", victim)
    wait_for("replacement", lambda: len(containers_of(d, "talk")) == 2 and victim not in containers_of(d, "talk"))
    failed = d.docker("service", "ps", "--format", "{{.CurrentState}} {{.Error}}", "talk").out
    assert "non-zero exit (137)" in failed
    d.docker("service", "rm", "talk")

    d.docker("service", "create", "-d", "--name", "bad", "busybox:nope", "true")
    err = wait_for("rejected", lambda: d.docker("service", "ps", "--no-trunc", "--format", "{{.CurrentState}} {{.Error}}",
                                                "bad").out if "Rejected" in d.docker("service", "ps", "--format",
                                                                                     "{{.CurrentState}}", "bad").out else None)
    # The node tried to pull it: the registry's error (no network here) is the reason.
    assert 'Get "https://registry-1.docker.io/v2/"' in err, err
    d.docker("service", "rm", "bad")


def test_docker_py_services_and_tasks(d):
    client = d.client("1.41")
    svc = client.services.create("busybox", ["sleep", "1000"], name="pysvc",
                                 mode={"Replicated": {"Replicas": 2}}, stop_grace_period=1000000000)
    wait_for("2 running", lambda: len([t for t in svc.tasks() if t["Status"]["State"] == "running"]) == 2)
    tasks = client.api.tasks(filters={"service": "pysvc", "desired-state": "running"})
    assert len(tasks) == 2 and all(t["ServiceID"] == svc.id for t in tasks)
    assert client.api.inspect_task(tasks[0]["ID"])["ID"] == tasks[0]["ID"]
    assert [s.name for s in client.services.list(filters={"name": "pysvc"})] == ["pysvc"]
    svc.scale(3)
    wait_for("3 running", lambda: len([t for t in svc.tasks() if t["Status"]["State"] == "running" and
                                       t["DesiredState"] == "running"]) == 3)
    svc.remove()
    wait_for("gone", lambda: not containers_of(d, "pysvc"))


def test_kill9_while_scaling_converges(make_daemon, fixtures):
    d = make_daemon()
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    d.docker("service", "create", "-d", "--name", "k", "--replicas", "2", "--stop-grace-period", "1s",
             "busybox", "sleep", "1000")
    wait_for("2/2", lambda: replicas(d, "k") == "2/2")
    node = d.docker("info", "-f", "{{.Swarm.NodeID}}").out.strip()
    cluster = d.docker("info", "-f", "{{.Swarm.Cluster.ID}}").out.strip()
    d.docker("service", "scale", "-d", "k=8")
    time.sleep(0.3)
    d.stop(sig=9)
    d.start()
    # Nothing committed is lost: the same cluster, node and service, and it converges.
    assert d.docker("info", "-f", "{{.Swarm.NodeID}}").out.strip() == node
    assert d.docker("info", "-f", "{{.Swarm.Cluster.ID}}").out.strip() == cluster
    wait_for("8/8", lambda: replicas(d, "k") == "8/8", timeout=60)
    wait_for("8 containers", lambda: len(containers_of(d, "k")) == 8, timeout=60)
    d.docker("service", "rm", "k")
    wait_for("no containers", lambda: not containers_of(d, "k"), timeout=60)


def test_published_ports_and_global_job_modes(d):
    # Ingress on one node: the published port spreads over the tasks.
    d.docker("service", "create", "-d", "--name", "ing", "--replicas", "3", "-p", "18300:80", "--stop-grace-period",
             "1s", "busybox", "sh", "-c", "mkdir -p /w && hostname > /w/index.html && exec httpd -f -p 80 -h /w")
    wait_for("3/3", lambda: replicas(d, "ing") == "3/3")
    assert d.docker("service", "ls", "--filter", "name=ing", "--format", "{{.Ports}}").out.strip() == "*:18300->80/tcp"
    fetch = lambda: d.netns_run("timeout", "5", "busybox", "wget", "-qO-", "http://127.0.0.1:18300/", check=False).out
    wait_for("ingress answers", lambda: fetch().strip())
    hosts = {fetch().strip() for _ in range(9)}
    assert len(hosts) == 3, hosts
    res = d.docker("service", "create", "-d", "--name", "ing2", "-p", "18300:80", "busybox", "true", check=False)
    assert res.returncode != 0 and "already in use by service 'ing'" in res.err
    d.docker("service", "scale", "-d", "ing=1")
    wait_for("one backend", lambda: d.netns_run("nft", "list", "chain", "ip", "berth", "publish").out.count("172.17.") == 1)
    d.docker("service", "rm", "ing")
    wait_for("no rule", lambda: "18300" not in d.netns_run("nft", "list", "chain", "ip", "berth", "publish").out)
    d.docker("service", "create", "-d", "--name", "auto", "-p", "80", "busybox", "true")
    ports = json.loads(d.docker("service", "inspect", "-f", "{{json .Endpoint.Ports}}", "auto").out)
    assert 30000 <= ports[0]["PublishedPort"] <= 32767 and ports[0]["PublishMode"] == "ingress"
    d.docker("service", "rm", "auto")
    d.docker("service", "create", "-d", "--name", "hostp", "--publish", "mode=host,published=18301,target=80",
             "--stop-grace-period", "1s", "busybox", "sh", "-c",
             "mkdir -p /w && echo from-service > /w/index.html && exec httpd -f -p 80 -h /w")
    wait_for("1/1", lambda: replicas(d, "hostp") == "1/1")
    assert d.docker("service", "ps", "--format", "{{.Ports}}", "hostp").out.strip() == "*:18301->80/tcp"
    got = wait_for("fetch", lambda: d.netns_run("timeout", "5", "busybox", "wget", "-qO-", "http://127.0.0.1:18301/",
                                                check=False).out)
    assert got == "from-service\n"
    d.docker("service", "rm", "hostp")
    d.docker("service", "create", "-d", "--name", "glob", "--mode", "global", "--stop-grace-period", "1s",
             "busybox", "sleep", "1000")
    d.docker("service", "create", "-d", "--name", "job", "--mode", "replicated-job", "--replicas", "3",
             "--max-concurrent", "2", "busybox", "true")
    wait_for("global 1/1", lambda: replicas(d, "glob") == "1/1")
    wait_for("job done", lambda: "3/3 completed" in replicas(d, "job"))
    d.docker("service", "rm", "glob", "job")


def test_leave_force_takes_tasks_along(make_daemon, fixtures):
    d = make_daemon()
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    d.docker("service", "create", "-d", "--name", "gone", "--replicas", "2", "busybox", "sleep", "1000")
    wait_for("2 containers", lambda: len(containers_of(d, "gone")) == 2)
    old = d.docker("info", "-f", "{{.Swarm.NodeID}}").out.strip()
    d.docker("swarm", "leave", "--force")
    wait_for("no task containers", lambda: d.docker("ps", "-aq", "--filter", "label=com.docker.swarm.task.id").out.strip() == "")
    new = wait_for("active again", lambda: d.docker("info", "-f", "{{.Swarm.NodeID}}").out.strip())
    assert new != old
    assert d.docker("service", "ls", "-q").out.strip() == ""


def test_container_spec_reaches_the_container_and_force_update(d):
    d.docker("service", "create", "-d", "--name", "spec", "--stop-grace-period", "1s", "--env", "A=b", "--workdir",
             "/tmp", "--hostname", "svchost", "--user", "nobody", "--read-only", "--init", "--mount",
             "type=volume,source=svcdata,target=/data", "--health-cmd", "true", "--health-interval", "1s",
             "--limit-memory", "64m", "busybox", "sleep", "1000")
    wait_for("1/1", lambda: replicas(d, "spec") == "1/1")
    cid = wait_for("container", lambda: (containers_of(d, "spec") or [None])[0])
    info = json.loads(d.docker("inspect", cid).out)[0]
    assert "A=b" in info["Config"]["Env"] and info["Config"]["WorkingDir"] == "/tmp"
    assert info["Config"]["Hostname"] == "svchost" and info["Config"]["User"] == "nobody"
    assert info["HostConfig"]["ReadonlyRootfs"] is True and info["HostConfig"]["Init"] is True
    assert info["HostConfig"]["Memory"] == 64 << 20
    assert any(m.get("Name") == "svcdata" and m["Destination"] == "/data" for m in info["Mounts"])
    wait_for("healthy", lambda: d.docker("inspect", "-f", "{{.State.Health.Status}}", cid).out.strip() == "healthy")
    first = json.loads(d.docker("service", "ps", "--format", "{{json .}}", "spec").out.split("\n")[0])["ID"]
    d.docker("service", "update", "-d", "--force", "spec")
    wait_for("replaced", lambda: first not in d.docker("service", "ps", "--filter", "desired-state=running",
                                                        "--format", "{{.ID}}", "spec").out and replicas(d, "spec") == "1/1")
    d.docker("service", "rm", "spec")


def test_constraints_and_task_history_limit(d):
    node = d.docker("info", "-f", "{{.Swarm.NodeID}}").out.strip()
    d.docker("service", "create", "-d", "--name", "east", "--constraint", "node.labels.zone==east",
             "--stop-grace-period", "1s", "busybox", "sleep", "1000")
    err = wait_for("pending", lambda: d.docker("service", "ps", "--no-trunc", "--format", "{{.CurrentState}} {{.Error}}",
                                               "east").out if "Pending" in d.docker("service", "ps", "--format",
                                                                                    "{{.CurrentState}}", "east").out else None)
    assert "no suitable node" in err
    d.docker("node", "update", "--label-add", "zone=east", node)
    wait_for("placed", lambda: replicas(d, "east") == "1/1")
    d.docker("service", "rm", "east")
    d.docker("node", "update", "--label-rm", "zone", node)

    d.docker("swarm", "update", "--task-history-limit", "2")
    try:
        d.docker("service", "create", "-d", "--name", "hist", "--restart-delay", "100ms", "--stop-grace-period", "1s",
                 "busybox", "sh", "-c", "sleep 0.3; exit 1")
        # Each failure makes a new task in slot 1; only 2 per slot are kept.
        wait_for("several restarts", lambda: "Failed" in d.docker("service", "ps", "--format", "{{.CurrentState}}",
                                                                  "hist").out and
                 len(json.loads(d.request("GET", '/v1.47/tasks?filters={"service":["hist"]}')[2])) >= 2)
        time.sleep(3)
        tasks = json.loads(d.request("GET", '/v1.47/tasks?filters={"service":["hist"]}')[2])
        assert 2 <= len(tasks) <= 3, [t["Status"]["State"] for t in tasks]
    finally:
        d.docker("service", "rm", "hist")
        d.docker("swarm", "update", "--task-history-limit", "5")


def test_service_logs_follow(d):
    d.docker("service", "create", "-d", "--name", "chat", "--stop-grace-period", "1s", "busybox", "sh", "-c",
             "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done")
    wait_for("1/1", lambda: replicas(d, "chat") == "1/1")
    env = dict(os.environ, DOCKER_HOST="unix://" + d.sock, DOCKER_CONFIG=d.docker_config)
    proc = subprocess.Popen(["docker", "service", "logs", "-f", "--raw", "chat"], stdout=subprocess.PIPE, env=env)
    try:
        seen = []
        deadline = time.time() + 10
        while len(seen) < 5 and time.time() < deadline:
            seen.append(proc.stdout.readline().decode())
        assert len(seen) == 5 and all(l.startswith("tick ") for l in seen), seen
        # A task started later is followed too.
        d.docker("service", "scale", "-d", "chat=2")
        wait_for("2/2", lambda: replicas(d, "chat") == "2/2")
        lines = [proc.stdout.readline().decode() for _ in range(20)]
        assert lines.count("tick 0\n") >= 1, lines
    finally:
        proc.kill()
        proc.wait()
    d.docker("service", "rm", "chat")


def test_service_and_node_events(d):
    since = str(int(time.time()) - 1)
    d.docker("service", "create", "-d", "--name", "evs", "busybox", "sleep", "1000")
    d.docker("service", "scale", "-d", "evs=2")
    d.docker("service", "rm", "evs")
    node = d.docker("info", "-f", "{{.Swarm.NodeID}}").out.strip()
    d.docker("node", "update", "--label-add", "ev=1", node)
    d.docker("node", "update", "--label-rm", "ev", node)
    out = d.docker("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter", "type=service",
                   "--filter", "service=evs", "--format", "{{.Action}} {{.Actor.Attributes.name}}").out.strip().split("\n")
    assert out[0] == "create evs" and out[-1] == "remove evs" and "update evs" in out
    nodes = d.docker("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter", "node=" + node,
                     "--format", "{{.Type}} {{.Action}}").out.strip().split("\n")
    assert "node update" in nodes

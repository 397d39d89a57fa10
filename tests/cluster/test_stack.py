"""`docker stack deploy` and the rest of `docker stack`: the CLI turns a
compose file into networks, secrets, configs and services labelled with the
stack's namespace, and lists and removes them by that label."""

import os

from conftest import wait_for
from test_overlay import HTTPD, resolve

COMPOSE = """
version: "3.8"
services:
  web:
    image: busybox
    command: ["sh", "-c", %(httpd)r]
    networks: [front]
    secrets: [token]
    configs:
      - source: motd
        target: /etc/motd
    deploy:
      replicas: 2
      update_config:
        parallelism: 1
        delay: 1s
        order: start-first
  probe:
    image: busybox
    command: ["sleep", "1000"]
    networks: [front]
    deploy:
      replicas: 1
networks:
  front:
    driver: overlay
    attachable: true
secrets:
  token:
    file: ./token.txt
configs:
  motd:
    file: ./motd.txt
"""


def running(h, svc, n):
    out = h.docker("service", "ps", "--filter", "desired-state=running", "--format", "{{.CurrentState}}", svc).out
    states = [l for l in out.splitlines() if l.startswith("Running")]
    return len(states) == n


def test_stack_deploy_ls_ps_services_rm(make_lab, fixtures, tmp_path):
    lab = make_lab(2)
    h1, h2 = lab.hosts
    h1.docker("swarm", "init", "--advertise-addr", h1.addr)
    token = h1.docker("swarm", "join-token", "-q", "worker").out.strip()
    h2.docker("swarm", "join", "--token", token, "%s:2377" % h1.addr)
    for h in lab.hosts:
        h.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    (tmp_path / "token.txt").write_text("s3cret")
    (tmp_path / "motd.txt").write_text("hello from the stack")
    compose = tmp_path / "stack.yml"
    compose.write_text(COMPOSE % {"httpd": HTTPD})
    res = h1.docker("stack", "deploy", "--resolve-image", "never", "-c", str(compose), "app")
    for what in ("Creating network app_front", "Creating secret app_token", "Creating config app_motd",
                 "Creating service app_web", "Creating service app_probe"):
        assert what in res.out, res.out
    assert h1.docker("stack", "ls", "--format", "{{.Name}} {{.Services}}").out.split("\n")[0] == "app 2"
    assert sorted(h1.docker("stack", "services", "--format", "{{.Name}} {{.Mode}}", "app").out.split("\n")[:-1]) == \
        ["app_probe replicated", "app_web replicated"]
    wait_for(lambda: running(h1, "app_web", 2) and running(h1, "app_probe", 1), timeout=60, what="stack running")
    ps = h1.docker("stack", "ps", "--filter", "desired-state=running", "--format", "{{.Name}}", "app").out.split()
    assert sorted(n.rsplit(".", 1)[0] for n in ps) == ["app_probe", "app_web", "app_web"], ps
    # The network, secret and config are the stack's, and the tasks use them.
    inspect = h1.docker("network", "inspect", "--format", "{{.Driver}} {{.Scope}} {{index .Labels \"com.docker.stack.namespace\"}}",
                        "app_front").out.strip()
    assert inspect == "overlay swarm app", inspect
    probe = None
    for h in lab.hosts:
        ids = h.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=app_probe").out.split()
        if ids:
            probe = (h, ids[0])
    assert probe
    ph, pid = probe
    # The service is reachable by its short name within the stack (an alias on the network).
    wait_for(lambda: len(resolve(ph, pid, "web")) == 1, what="web resolves from the probe")
    out = wait_for(lambda: ph.docker("exec", pid, "timeout", "5", "wget", "-qO-", "http://web:80/", check=False).out,
                   timeout=30, what="web answers through its VIP")
    assert out.strip()
    for h in lab.hosts:
        for cid in h.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=app_web").out.split():
            assert h.docker("exec", cid, "cat", "/run/secrets/token").out == "s3cret"
            assert h.docker("exec", cid, "cat", "/etc/motd").out == "hello from the stack"
    # A second deploy with a change updates the service in place.
    compose.write_text((COMPOSE % {"httpd": HTTPD}).replace("replicas: 2", "replicas: 3"))
    res = h1.docker("stack", "deploy", "--resolve-image", "never", "-c", str(compose), "app")
    assert "Updating service app_web" in res.out, res.out
    wait_for(lambda: running(h1, "app_web", 3), timeout=60, what="web at 3")
    # rm takes everything with the stack's label away.
    res = h1.docker("stack", "rm", "app")
    for what in ("Removing service app_web", "Removing service app_probe", "Removing secret app_token",
                 "Removing config app_motd", "Removing network app_front"):
        assert what in res.out, res.out
    assert h1.docker("stack", "ls", "--format", "{{.Name}}").out.strip() == ""
    assert "app_" not in h1.docker("secret", "ls").out + h1.docker("config", "ls").out
    wait_for(lambda: "app_front" not in h1.docker("network", "ls", "--format", "{{.Name}}").out, timeout=60,
             what="network gone")
    for h in lab.hosts:
        wait_for(lambda: not h.docker("ps", "-aq", "--filter", "label=com.docker.stack.namespace=app").out.strip(),
                 timeout=60, what="containers gone on %s" % h.netns)

"""Secrets across managers: created through one, used by tasks on every
node, encrypted at rest on each (every node seals its own copy of the log
with a data key of its own)."""

import os

from conftest import wait_for
from test_managers import form


def test_secret_created_on_one_manager_reaches_tasks_everywhere(make_lab, fixtures):
    lab = make_lab(3)
    form(lab)
    h1, h2, h3 = lab.hosts
    for h in lab.hosts:
        h.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    value = "lab-secret-%d" % os.getpid()
    h2.docker("secret", "create", "labsec", "-", input=value.encode())
    # every manager lists it, none shows its data
    for h in lab.hosts:
        wait_for(lambda: "labsec" in h.docker("secret", "ls", "--format", "{{.Name}}").out, what="secret on %s" % h.netns)
        assert value not in h.docker("secret", "inspect", "labsec").out
    h3.docker("service", "create", "-d", "--name", "usesec", "--replicas", "3", "--stop-grace-period", "1s",
               "--secret", "labsec", "busybox", "sleep", "1000")

    def task_containers():
        per = {}
        for h in lab.hosts:
            ids = h.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=usesec").out.split()
            if ids:
                per[h] = ids
        return per if sum(len(v) for v in per.values()) == 3 else None

    per = wait_for(task_containers, timeout=60, what="3 running tasks")
    assert len(per) >= 2, "tasks on one node only: %s" % [h.netns for h in per]
    for h, ids in per.items():
        for cid in ids:
            assert h.docker("exec", cid, "cat", "/run/secrets/labsec").out == value
    # encrypted at rest on every node: the value is in no file of its data root
    for h in lab.hosts:
        for root, _, files in os.walk(h.data_root):
            for f in files:
                path = os.path.join(root, f)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, "rb") as fh:
                    assert value.encode() not in fh.read(), "%s holds the secret in clear" % path
    h1.docker("service", "rm", "usesec")
    wait_for(lambda: task_containers() is None and not any(
        h.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=usesec").out.strip() for h in lab.hosts),
        timeout=60, what="tasks gone")
    h1.docker("secret", "rm", "labsec")

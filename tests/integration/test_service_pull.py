"""Service tasks pull their image on the node that runs them: the CLI pins
the image by digest (GET /distribution), the agent pulls that digest when
it is missing (with --with-registry-auth's credentials), the task waits in
"preparing" meanwhile and is rejected with the registry's error when the
pull fails.  Debian's docker-registry in the daemon's namespace."""

import json
import os
import subprocess

import pytest

from test_registry import REGISTRY, Registry, htpasswd_registry, start_daemon, stop_daemon
from test_services import wait_for

pytestmark = pytest.mark.skipif(not os.path.exists(REGISTRY), reason="docker-registry is not installed")


@pytest.fixture(scope="module")
def sreg(tmp_path_factory, fixtures):
    d = start_daemon(tmp_path_factory, fixtures, "berth-service-pull")
    plain = Registry(d, os.path.join(d.base, "registry"), 5000)
    private = htpasswd_registry(d, "registry-auth", 5001)
    yield d, plain, private
    stop_daemon(d, private, plain)


def only_in_registry(d, name, marker):
    """Pushes an image of its own as name, then removes it here."""
    d.docker("run", "--name", marker, "busybox:latest", "touch", "/" + marker)
    d.docker("commit", marker, name)
    d.docker("rm", marker)
    out = d.docker("push", name).out
    digest = [l for l in out.splitlines() if ": digest: sha256:" in l][0].split()[2]
    d.docker("rmi", name)
    assert d.docker("image", "inspect", name, check=False).returncode != 0
    return digest


def task_states(d, svc):
    return d.docker("service", "ps", "--no-trunc", "--format", "{{.CurrentState}}|{{.Error}}", svc).out


def test_task_pulls_pinned_digest(sreg):
    d, r, _ = sreg
    name = r.addr + "/svc:1"
    digest = only_in_registry(d, name, "svcsrc")
    d.docker("service", "create", "-d", "--name", "pulled", "--replicas", "2", name, "sleep", "1000")
    # The CLI pinned the digest through GET /distribution.
    image = d.docker("service", "inspect", "-f", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", "pulled").out.strip()
    assert image == name + "@" + digest
    wait_for("2 running", lambda: task_states(d, "pulled").count("Running") == 2)
    # Pulled once, by digest, for both tasks.
    info = json.loads(d.docker("image", "inspect", r.addr + "/svc@" + digest).out)[0]
    assert info["RepoDigests"] == [r.addr + "/svc@" + digest]
    d.docker("service", "rm", "pulled")


def test_no_resolve_image_pulls_the_tag(sreg):
    d, r, _ = sreg
    name = r.addr + "/svc:2"
    only_in_registry(d, name, "svcsrc2")
    d.docker("service", "create", "-d", "--no-resolve-image", "--name", "bytag", name, "sleep", "1000")
    assert d.docker("service", "inspect", "-f", "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
                    "bytag").out.strip() == name
    wait_for("running", lambda: "Running" in task_states(d, "bytag"))
    assert d.docker("image", "inspect", name).returncode == 0
    d.docker("service", "rm", "bytag")


def test_missing_image_is_rejected_with_registry_error(sreg):
    d, r, _ = sreg
    name = r.addr + "/svc:nope"
    res = d.docker("service", "create", "-d", "--name", "missing", name, "true")
    # Not pinned: the CLI says so itself.
    assert "could not be accessed on a registry to record" in res.err, res.err
    states = wait_for("rejected", lambda: task_states(d, "missing") if "Rejected" in task_states(d, "missing")
                      else None)
    assert "manifest unknown" in states, states
    d.docker("service", "rm", "missing")


def test_with_registry_auth(sreg):
    d, _, p = sreg
    d.docker("login", "-u", "alice", "--password-stdin", p.addr, input=b"s3cret\n")
    name = p.addr + "/private:1"
    only_in_registry(d, name, "privsrc")
    # Without the credentials the node cannot pull.
    d.docker("service", "create", "-d", "--no-resolve-image", "--name", "noauth", name, "sleep", "1000")
    states = wait_for("rejected", lambda: task_states(d, "noauth") if "Rejected" in task_states(d, "noauth")
                      else None)
    assert "no basic auth credentials" in states or "unauthorized" in states, states
    d.docker("service", "rm", "noauth")
    d.docker("service", "create", "-d", "--with-registry-auth", "--name", "withauth", name, "sleep", "1000")
    wait_for("running", lambda: "Running" in task_states(d, "withauth"))
    # The credentials never show.
    assert "s3cret" not in d.docker("service", "inspect", "withauth").out
    assert "PullOptions" not in d.docker("service", "inspect", "withauth").out
    tasks = d.client().api.tasks(filters={"service": "withauth"})
    assert tasks and all("PullOptions" not in t["Spec"]["ContainerSpec"] for t in tasks)
    # An update without --with-registry-auth keeps them (a new task pulls again).
    d.docker("rmi", "-f", name, check=False)
    d.docker("service", "update", "-d", "--force", "withauth")
    wait_for("updated", lambda: task_states(d, "withauth").count("Running") == 1 and
             task_states(d, "withauth").count("Shutdown") >= 1)
    d.docker("service", "rm", "withauth")
    d.docker("logout", p.addr)


HANG = """
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 5002))
s.listen(16)
print("ready", flush=True)
held = []
end = time.time() + 120
s.settimeout(1)
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass
"""


def test_preparing_while_the_pull_runs(sreg):
    """A registry that accepts and never answers: the task stays preparing."""
    d, _, _ = sreg
    hang = subprocess.Popen(["nsenter", "--net=/run/netns/" + d.netns, "/usr/bin/python3", "-c", HANG],
                            stdout=subprocess.PIPE)
    try:
        assert hang.stdout.readline().strip() == b"ready"
        d.docker("service", "create", "-d", "--no-resolve-image", "--name", "slow", "127.0.0.1:5002/slow:1",
                 "true")
        wait_for("preparing", lambda: "Preparing" in task_states(d, "slow"))
        d.docker("service", "rm", "slow")
    finally:
        hang.kill()
        hang.wait()

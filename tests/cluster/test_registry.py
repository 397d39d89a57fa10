"""A service whose image is only in a registry runs on every node of the
lab: each node's agent pulls the digest the CLI pinned.  Debian's
docker-registry runs in h1's namespace on its lab address, which every
host marks insecure."""

import importlib.util
import os

import pytest

from conftest import wait_for
from test_managers import form

_spec = importlib.util.spec_from_file_location(
    "berth_integration_registry",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration", "test_registry.py"))
_registry = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_registry)

pytestmark = pytest.mark.skipif(not os.path.exists(_registry.REGISTRY), reason="docker-registry is not installed")


def test_global_service_pulls_on_every_node(make_lab, fixtures):
    lab = make_lab(3, start=False)
    for h in lab.hosts:
        h.write_config({"insecure-registries": ["10.77.0.0/24"]})
    lab.start()
    form(lab)
    h1 = lab.hosts[0]
    reg = _registry.Registry(h1, os.path.join(h1.base, "registry"), 5000, addr=h1.addr + ":5000")
    try:
        # An image of its own, pushed, then removed here: only the registry has it.
        h1.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
        h1.docker("run", "--name", "src", "busybox:latest", "touch", "/lab-image")
        name = reg.addr + "/labimg:1"
        h1.docker("commit", "src", name)
        h1.docker("rm", "src")
        h1.docker("push", name)
        h1.docker("rmi", name)
        for h in lab.hosts:
            assert h.docker("image", "inspect", name, check=False).returncode != 0
        h1.docker("service", "create", "-d", "--name", "fromreg", "--mode", "global", "--stop-grace-period", "1s",
                  name, "sleep", "1000")
        image = h1.docker("service", "inspect", "-f", "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
                          "fromreg").out.strip()
        assert image.startswith(name + "@sha256:"), image
        digest = image.split("@", 1)[1]

        def running_everywhere():
            for h in lab.hosts:
                ids = h.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=fromreg").out.split()
                if len(ids) != 1:
                    return None
            return True

        wait_for(running_everywhere, timeout=90, what="a running task on every node")
        for h in lab.hosts:
            digests = h.docker("image", "inspect", "-f", "{{json .RepoDigests}}", reg.addr + "/labimg@" + digest).out
            assert reg.addr + "/labimg@" + digest in digests, (h.netns, digests)
            cid = h.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=fromreg").out.split()[0]
            assert h.docker("exec", cid, "ls", "/lab-image").out.strip() == "/lab-image"
        h1.docker("service", "rm", "fromreg")
        wait_for(lambda: not any(h.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=fromreg")
                                 .out.strip() for h in lab.hosts), timeout=60, what="tasks gone")
    finally:
        reg.stop()

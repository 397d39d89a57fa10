"""The lab itself: hosts reach each other over the bridge and nothing else."""

from conftest import wait_for


def test_hosts_reach_each_other_only_on_the_lab_subnet(make_lab):
    lab = make_lab(2)
    a, b = lab.hosts
    a.netns_run("busybox", "ping", "-c", "1", "-W", "2", b.addr)
    routes = a.netns_run("ip", "-4", "route").out
    assert "default" not in routes, routes
    assert [h.docker("info", "--format", "{{.Name}}").out.strip() for h in lab.hosts] == ["h1", "h2"]
    # Each daemon answers on its own socket, with its own node ID.
    ids = {h.info()["NodeID"] for h in lab.hosts}
    assert len(ids) == 2
    wait_for(lambda: a.info()["LocalNodeState"] == "active", what="active")

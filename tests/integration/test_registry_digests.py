"""RepoDigests: the manifest digest a pull or push recorded as a name of
the image, shown by inspect and `docker images --digests`, usable as a
reference (run, pull, rmi) and removed with the repository's last tag, as
dockerd's reference store does."""

import json
import os

import pytest

from test_registry import REGISTRY, Registry, start_daemon, stop_daemon

pytestmark = pytest.mark.skipif(not os.path.exists(REGISTRY), reason="docker-registry is not installed")


@pytest.fixture(scope="module")
def dreg(tmp_path_factory, fixtures):
    d = start_daemon(tmp_path_factory, fixtures, "berth-digests")
    r = Registry(d, os.path.join(d.base, "registry"), 5000)
    yield d, r
    stop_daemon(d, r)


def repo_digests(d, ref):
    return json.loads(d.docker("image", "inspect", "-f", "{{json .RepoDigests}}", ref).out)


def pushed_digest(out):
    line = [l for l in out.splitlines() if ": digest: sha256:" in l]
    assert line, out
    return line[0].split()[2]


def test_push_records_the_digest(dreg):
    d, r = dreg
    name = r.addr + "/pushed:v1"
    d.docker("tag", "busybox:latest", name)
    digest = pushed_digest(d.docker("push", name).out)
    assert repo_digests(d, name) == [r.addr + "/pushed@" + digest]
    # The CLI's DIGEST column comes from RepoDigests.
    rows = d.docker("images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}",
                    r.addr + "/pushed").out.split("\n")
    assert "%s/pushed v1 %s" % (r.addr, digest) in rows, rows
    d.docker("rmi", name)
    assert d.docker("image", "inspect", r.addr + "/pushed@" + digest, check=False).returncode != 0


def test_pull_by_tag_records_digest_and_runs_by_digest(dreg):
    d, r = dreg
    name = r.addr + "/app:1"
    d.docker("tag", "busybox:latest", name)
    digest = pushed_digest(d.docker("push", name).out)
    d.docker("rmi", name)
    assert d.docker("pull", name).returncode == 0
    canonical = r.addr + "/app@" + digest
    assert repo_digests(d, name) == [canonical]
    # The image is found by its digest: run neither pulls nor fails.
    res = d.docker("run", "--rm", canonical, "echo", "by-digest")
    assert res.out.strip() == "by-digest"
    assert "Unable to find image" not in res.err, res.err
    # A pull by a digest already here changes nothing.
    out = d.docker("pull", canonical).out
    assert "Status: Image is up to date for " + canonical in out, out
    # docker-py sees the same list.
    assert d.client().images.get(name).attrs["RepoDigests"] == [canonical]
    # Removing the repository's last tag removes its digest too.
    out = d.docker("rmi", name).out
    assert "Untagged: " + name in out and "Untagged: " + canonical in out, out
    assert d.docker("image", "inspect", canonical, check=False).returncode != 0


def test_pull_by_digest_alone(dreg):
    d, r = dreg
    # An image of its own, so the pull by digest is its only name.
    d.docker("run", "--name", "solo-src", "busybox:latest", "touch", "/solo")
    name = r.addr + "/solo:1"
    d.docker("commit", "solo-src", name)
    d.docker("rm", "solo-src")
    digest = pushed_digest(d.docker("push", name).out)
    image_id = d.docker("image", "inspect", "-f", "{{.Id}}", name).out.strip()
    d.docker("rmi", name)
    canonical = r.addr + "/solo@" + digest
    out = d.docker("pull", canonical).out
    assert "Status: Downloaded newer image for " + canonical in out, out
    info = json.loads(d.docker("image", "inspect", canonical).out)[0]
    assert info["Id"] == image_id
    assert info["RepoTags"] == [] and info["RepoDigests"] == [canonical]
    # Listed with no tag but its digest.
    rows = d.docker("images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}").out.split("\n")
    assert "%s/solo <none> %s" % (r.addr, digest) in rows, rows
    # Only a digest: dangling, as dockerd counts it.
    assert image_id in d.docker("images", "-q", "--no-trunc", "--filter", "dangling=true").out
    # The digest was its one name: removing it removes the image.
    out = d.docker("rmi", canonical).out
    assert "Untagged: " + canonical in out and "Deleted: " + image_id in out, out
    assert d.docker("image", "inspect", image_id, check=False).returncode != 0


def test_rmi_by_id_removes_digests(dreg, fixtures):
    d, r = dreg
    d.docker("load", "-i", os.path.join(fixtures, "busybox-multi.tar"))
    name = r.addr + "/multi:1"
    d.docker("tag", "busybox:multi", name)
    digest = pushed_digest(d.docker("push", name).out)
    image_id = d.docker("image", "inspect", "-f", "{{.Id}}", name).out.strip()
    d.docker("rmi", "busybox:multi")
    canonical = r.addr + "/multi@" + digest
    assert repo_digests(d, image_id) == [canonical]
    out = d.docker("rmi", image_id).out
    assert "Untagged: " + name in out and "Untagged: " + canonical in out, out
    assert "Deleted: " + image_id in out, out
    # Pulled again, by tag, it has both names back.
    d.docker("pull", name)
    assert repo_digests(d, name) == [canonical]
    assert d.docker("image", "inspect", "-f", "{{.Id}}", canonical).out.strip() == image_id

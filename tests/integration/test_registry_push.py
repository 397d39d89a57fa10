"""docker push sends gzip-compressed layers, as dockerd does: the manifest
names ...diff.tar.gzip blobs whose gunzipped bytes are the layers' diff
IDs, a second push (or a push of a pulled image) finds the same blobs by
digest without compressing again."""

import gzip
import hashlib
import json
import os

import pytest

from test_registry import REGISTRY, Registry, registry_blob, start_daemon, stop_daemon

pytestmark = pytest.mark.skipif(not os.path.exists(REGISTRY), reason="docker-registry is not installed")

GZIP_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@pytest.fixture(scope="module")
def preg(tmp_path_factory, fixtures):
    d = start_daemon(tmp_path_factory, fixtures, "berth-push")
    r = Registry(d, os.path.join(d.base, "registry"), 5000)
    yield d, r
    stop_daemon(d, r)


def manifest(d, r, repo, tag):
    out = d.netns_run("curl", "-sf", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
                      "http://%s/v2/%s/manifests/%s" % (r.addr, repo, tag)).out
    return json.loads(out)


def test_layers_are_pushed_gzip(preg):
    d, r = preg
    name = r.addr + "/gz:1"
    d.docker("tag", "busybox:latest", name)
    out = d.docker("push", name).out
    assert "Pushed" in out, out
    m = manifest(d, r, "gz", "1")
    diff_ids = json.loads(d.docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", name).out)
    assert len(m["layers"]) == len(diff_ids)
    for layer, diff_id in zip(m["layers"], diff_ids):
        assert layer["mediaType"] == GZIP_LAYER
        with open(registry_blob(r, layer["digest"]), "rb") as f:
            blob = f.read()
        assert layer["size"] == len(blob)
        assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"]
        assert blob[:2] == b"\x1f\x8b"
        assert "sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest() == diff_id
    # Pushed again, to another tag and to another repository: the blobs are known.
    d.docker("tag", name, r.addr + "/gz:2")
    again = d.docker("push", r.addr + "/gz:2").out
    assert "Layer already exists" in again and "Pushed" not in again, again
    assert manifest(d, r, "gz", "2")["layers"] == m["layers"]
    d.docker("tag", name, r.addr + "/gz-other:1")
    other = d.docker("push", r.addr + "/gz-other:1").out
    assert "Mounted from gz" in other, other
    assert manifest(d, r, "gz-other", "1")["layers"] == m["layers"]


def upload_blob(d, r, repo, data):
    path = os.path.join(d.base, "blob.bin")
    with open(path, "wb") as f:
        f.write(data)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    head = d.netns_run("curl", "-sfi", "-X", "POST", "http://%s/v2/%s/blobs/uploads/" % (r.addr, repo)).out
    loc = [l.split(":", 1)[1].strip() for l in head.splitlines() if l.lower().startswith("location:")][0]
    if loc.startswith("/"):
        loc = "http://" + r.addr + loc
    d.netns_run("curl", "-sf", "-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary",
                "@" + path, loc + ("&" if "?" in loc else "?") + "digest=" + digest)
    return digest, len(data)


def test_pulled_image_pushes_the_blobs_it_came_as(preg):
    """Layers gzipped otherwise than berth would (python's level 9) and a
    manifest PUT raw: after the pull, a push of that image names those
    same blobs, found in the registry, as dockerd's push does with the
    blobs it pulled."""
    d, r = preg
    name = r.addr + "/gzsrc:1"
    d.docker("tag", "busybox:latest", name)
    d.docker("push", name)
    m = manifest(d, r, "gzsrc", "1")
    layers = []
    for layer in m["layers"]:
        with open(registry_blob(r, layer["digest"]), "rb") as f:
            tar = gzip.decompress(f.read())
        digest, size = upload_blob(d, r, "regz", gzip.compress(tar, compresslevel=9, mtime=0))
        layers.append({"mediaType": GZIP_LAYER, "digest": digest, "size": size})
    assert [l["digest"] for l in layers] != [l["digest"] for l in m["layers"]]
    with open(registry_blob(r, m["config"]["digest"]), "rb") as f:
        upload_blob(d, r, "regz", f.read())
    path = os.path.join(d.base, "regz.json")
    with open(path, "w") as f:
        json.dump(dict(m, layers=layers), f)
    d.netns_run("curl", "-sf", "-X", "PUT", "-H", "Content-Type: application/vnd.docker.distribution.manifest.v2+json",
                "--data-binary", "@" + path, "http://%s/v2/regz/manifests/1" % r.addr)
    # Forget what this daemon's own pushes compressed, so only the pull says.
    import shutil
    shutil.rmtree(os.path.join(d.data_root, "image", "blobsums"))
    d.docker("pull", r.addr + "/regz:1")
    d.docker("tag", r.addr + "/regz:1", r.addr + "/regz:again")
    out = d.docker("push", r.addr + "/regz:again").out
    assert "Layer already exists" in out and "Pushed" not in out, out
    assert manifest(d, r, "regz", "again")["layers"] == layers

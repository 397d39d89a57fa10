"""Images through the real docker CLI and docker-py."""

import io
import json
import os
import subprocess
import tarfile
import uuid

import pytest

import hostile


@pytest.fixture(scope="module")
def loaded(daemon, fixtures):
    out = daemon.docker("load", "-i", os.path.join(fixtures, "busybox.tar")).out
    assert "Loaded image: busybox:latest" in out
    out = daemon.docker("load", "-i", os.path.join(fixtures, "busybox-multi.tar")).out
    assert "Loaded image: busybox:multi" in out
    return daemon


def image_ids(d, *args):
    return d.docker("images", "-q", "--no-trunc", *args).out.split()


def test_load_and_list(loaded):
    out = loaded.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}").out
    assert "busybox:latest" in out and "busybox:multi" in out
    img = json.loads(loaded.docker("image", "inspect", "busybox").out)[0]
    assert img["RepoTags"] == ["busybox:latest"]
    assert img["Config"]["Cmd"] == ["sh"]
    assert img["Os"] == "linux"
    assert len(img["RootFS"]["Layers"]) == 1
    assert img["Size"] > 500000


def test_layers_unpacked_once_per_chain(loaded):
    base = json.loads(loaded.docker("image", "inspect", "busybox:latest").out)[0]
    multi = json.loads(loaded.docker("image", "inspect", "busybox:multi").out)[0]
    assert multi["RootFS"]["Layers"][0] == base["RootFS"]["Layers"][0]
    if base["GraphDriver"]["Name"] == "overlay2":
        base_dir = base["GraphDriver"]["Data"]["UpperDir"]
        assert multi["GraphDriver"]["Data"]["LowerDir"].split(":")[-1] == base_dir
        # the whiteout layer is a 0:0 char device; the opaque dir has its xattr
        top = multi["GraphDriver"]["Data"]["UpperDir"]
        st = os.lstat(os.path.join(top, "data", "gone.txt"))
        assert (st.st_mode & 0o170000) == 0o020000 and st.st_rdev == 0
        assert os.getxattr(os.path.join(top, "data", "dir"), "trusted.overlay.opaque") == b"y"
    dirs = os.listdir(os.path.join(loaded.data_root, base["GraphDriver"]["Name"]))
    layer_dirs = [x for x in dirs if len(x) == 64]
    assert len(layer_dirs) == 3  # 1 shared base + 2 layers of multi


def test_oci_layout_load(loaded, fixtures):
    out = loaded.docker("load", "-i", os.path.join(fixtures, "busybox-oci.tar")).out
    assert "Loaded image: busybox:oci" in out
    a = loaded.docker("image", "inspect", "-f", "{{.Id}}", "busybox:oci").out
    b = loaded.docker("image", "inspect", "-f", "{{.Id}}", "busybox:latest").out
    assert a == b
    loaded.docker("rmi", "busybox:oci")


def test_load_gzip_archive(make_daemon, fixtures, tmp_path):
    import gzip
    d = make_daemon()
    path = str(tmp_path / "busybox.tar.gz")
    with open(os.path.join(fixtures, "busybox.tar"), "rb") as src, gzip.open(path, "wb") as dst:
        dst.write(src.read())
    assert "Loaded image: busybox:latest" in d.docker("load", "-i", path).out
    # without quiet, the same lines come as a JSON stream
    with open(path, "rb") as f:
        status, headers, body = d.request("POST", "/images/load?quiet=0", body=f.read())
    assert status == 200 and headers["Content-Type"] == "application/json"
    lines = [json.loads(l) for l in body.decode().splitlines() if l.strip()]
    assert {"stream": "Loaded image: busybox:latest\n"} in lines


def test_images_filters(loaded):
    assert len(image_ids(loaded, "--filter", "label=org.berth.test=multi")) == 1
    assert len(image_ids(loaded, "--filter", "label=org.berth.test")) == 1
    assert image_ids(loaded, "--filter", "label=nope") == []
    assert len(image_ids(loaded, "--filter", "reference=busybox:mul*")) == 1
    assert len(image_ids(loaded, "--filter", "reference=busy*")) == 2
    assert image_ids(loaded, "--filter", "dangling=true") == []
    assert len(image_ids(loaded, "busybox")) == 2  # the repository argument is a reference filter
    res = loaded.docker("images", "--filter", "bogus=1", check=False)
    assert res.returncode != 0 and "invalid filter 'bogus'" in res.err


def test_reference_filter_lists_only_matching_names(loaded):
    # an image found by one of its names is listed with the names that
    # matched, as dockerd does: `docker images busybox` shows no other repository
    loaded.docker("tag", "busybox:latest", "alias/other:1")
    try:
        rows = loaded.docker("images", "--format", "{{.Repository}}:{{.Tag}}", "busybox").out.split()
        assert "busybox:latest" in rows and "alias/other:1" not in rows
        rows = loaded.docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=alias/*").out.split()
        assert rows == ["alias/other:1"]
        rows = loaded.docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=alias/other:1").out.split()
        assert rows == ["alias/other:1"]
        assert "alias/other:1" in loaded.docker("images", "--format", "{{.Repository}}:{{.Tag}}").out.split()
    finally:
        loaded.docker("rmi", "alias/other:1")


def test_before_since_filters(loaded, fixtures):
    loaded.docker("import", os.path.join(fixtures, "rootfs.tar"), "newer:1")
    try:
        since = loaded.docker("images", "--filter", "since=busybox:latest", "--format", "{{.Repository}}").out.split()
        assert since == ["newer"]
        before = loaded.docker("images", "--filter", "before=newer:1", "--format", "{{.Repository}}:{{.Tag}}").out.split()
        assert "newer:1" not in before and "busybox:latest" in before
    finally:
        loaded.docker("rmi", "newer:1")


def test_tag_and_untag(loaded):
    loaded.docker("tag", "busybox", "myorg/app:1.0")
    loaded.docker("tag", "busybox:latest", "localhost:5000/app")
    tags = json.loads(loaded.docker("image", "inspect", "busybox").out)[0]["RepoTags"]
    assert set(tags) == {"busybox:latest", "myorg/app:1.0", "localhost:5000/app:latest"}
    out = loaded.docker("rmi", "myorg/app:1.0", "localhost:5000/app").out
    assert "Untagged: myorg/app:1.0" in out and "Deleted" not in out
    res = loaded.docker("tag", "busybox", "Bad/Name", check=False)
    assert res.returncode != 0 and "must be lowercase" in res.err
    res = loaded.docker("tag", "nosuchimage", "x:y", check=False)
    assert res.returncode != 0 and "No such image: nosuchimage" in res.err


def test_rmi_by_id_with_tags_in_several_repos(loaded):
    loaded.docker("tag", "busybox", "other/repo:x")
    iid = loaded.docker("image", "inspect", "-f", "{{.Id}}", "busybox").out.strip()
    res = loaded.docker("rmi", iid[7:19], check=False)
    assert res.returncode != 0
    assert "image is referenced in multiple repositories" in res.err
    loaded.docker("rmi", "other/repo:x")


def test_rmi_errors(loaded):
    res = loaded.docker("rmi", "does-not-exist", check=False)
    assert res.returncode != 0 and "No such image: does-not-exist" in res.err


def test_save_load_round_trip(loaded, tmp_path):
    path = str(tmp_path / "both.tar")
    loaded.docker("save", "-o", path, "busybox:latest", "busybox:multi")
    with tarfile.open(path) as t:
        names = t.getnames()
        manifest = json.load(t.extractfile("manifest.json"))
    assert "index.json" in names and "oci-layout" in names
    assert sorted(m["RepoTags"][0] for m in manifest) == ["busybox:latest", "busybox:multi"]
    before = {t: loaded.docker("image", "inspect", "-f", "{{.Id}}", t).out for t in ("busybox:latest", "busybox:multi")}
    loaded.docker("rmi", "busybox:multi")
    out = loaded.docker("load", "-i", path).out
    assert "Loaded image: busybox:multi" in out
    after = {t: loaded.docker("image", "inspect", "-f", "{{.Id}}", t).out for t in before}
    assert before == after
    # pipe form: docker save | docker load
    saved = loaded.docker("save", "busybox:multi").stdout
    res = loaded.docker("load", input=saved)
    assert "Loaded image: busybox:multi" in res.out


def test_import_with_changes(loaded, fixtures):
    out = loaded.docker("import", "-c", "CMD [\"sh\", \"-c\", \"echo hi\"]", "-c", "ENV A=b", "-c", "EXPOSE 80",
                        "-c", "LABEL x=y", "-m", "made by test", os.path.join(fixtures, "rootfs.tar"),
                        "imported:v1").out.strip()
    assert out.startswith("sha256:")
    img = json.loads(loaded.docker("image", "inspect", "imported:v1").out)[0]
    assert img["Id"] == out
    assert img["Config"]["Cmd"] == ["sh", "-c", "echo hi"]
    assert "A=b" in img["Config"]["Env"]
    assert "80/tcp" in img["Config"]["ExposedPorts"]
    assert img["Config"]["Labels"] == {"x": "y"}
    assert img["Comment"] == "made by test"
    hist = loaded.docker("history", "--format", "{{.Comment}}", "imported:v1").out.split("\n")
    assert hist[0] == "made by test"
    # from stdin, with a bad change
    with open(os.path.join(fixtures, "rootfs.tar"), "rb") as f:
        data = f.read()
    res = loaded.docker("import", "-c", "FROM busybox", "-", "bad:1", input=data, check=False)
    assert res.returncode != 0 and "is not a valid change command" in res.err
    loaded.docker("rmi", "imported:v1")


def test_history(loaded):
    rows = loaded.docker("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}", "busybox:multi").out.splitlines()
    assert len(rows) == 4
    assert rows[0].startswith("sha256:")
    assert all(r.startswith("<missing>") for r in rows[1:])
    assert any("LABEL" in r and r.endswith("|0B") for r in rows)


def test_prune_dangling_and_all(loaded, fixtures):
    loaded.docker("import", os.path.join(fixtures, "rootfs.tar"), "dangle:1")
    loaded.docker("import", "-c", "LABEL keep=1", os.path.join(fixtures, "rootfs.tar"), "dangle:2")
    # re-point both tags: the images become dangling
    loaded.docker("tag", "busybox", "dangle:1")
    loaded.docker("tag", "busybox", "dangle:2")
    assert len(image_ids(loaded, "--filter", "dangling=true")) == 2
    out = loaded.docker("image", "prune", "-f", "--filter", "label!=keep=1").out
    assert out.count("deleted: sha256:") == 1
    out = loaded.docker("image", "prune", "-f").out
    assert "deleted: sha256:" in out
    assert image_ids(loaded, "--filter", "dangling=true") == []
    loaded.docker("rmi", "dangle:1", "dangle:2")


def test_prune_all_removes_unused_and_reclaims(make_daemon, fixtures):
    d = make_daemon()
    d.docker("load", "-i", os.path.join(fixtures, "busybox-multi.tar"))
    out = d.docker("image", "prune", "-a", "-f").out
    assert "untagged: busybox:multi" in out
    assert image_ids(d) == []
    assert "Total reclaimed space: 0B" not in out
    # nothing of the image is left on disk
    driver = json.loads(d.docker("info", "--format", "{{json .}}").out)["Driver"]
    root = os.path.join(d.data_root, driver if driver == "overlay2" else "vfs/dir")
    deadline = __import__("time").time() + 10
    while any(len(x) == 64 for x in os.listdir(root)) and __import__("time").time() < deadline:
        __import__("time").sleep(0.05)
    assert [x for x in os.listdir(root) if len(x) == 64] == []
    assert os.listdir(os.path.join(d.data_root, "image", "blobs", "sha256")) == []


def test_prune_until(make_daemon, fixtures):
    d = make_daemon()
    d.docker("load", "-i", os.path.join(fixtures, "busybox-multi.tar"))  # created in 2024
    d.docker("import", os.path.join(fixtures, "rootfs.tar"), "fresh:1")  # created now
    out = d.docker("image", "prune", "-a", "-f", "--filter", "until=1h").out
    assert "untagged: busybox:multi" in out and "fresh" not in out
    assert d.docker("images", "--format", "{{.Repository}}").out.split() == ["fresh"]
    assert d.docker("images", "-q", "--filter", "until=2020-01-01").out.split() == []
    res = d.docker("image", "prune", "-f", "--filter", "until=whenever", check=False)
    assert res.returncode != 0 and "invalid filter 'until=whenever'" in res.err


def test_images_survive_restart(make_daemon, fixtures):
    d = make_daemon()
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    before = d.docker("images", "--no-trunc").out
    assert d.stop() == 0
    d.start()
    assert d.docker("images", "--no-trunc").out == before


def test_vfs_driver(make_daemon, fixtures):
    d = make_daemon(args=["--storage-driver", "vfs"])
    d.docker("load", "-i", os.path.join(fixtures, "busybox-multi.tar"))
    img = json.loads(d.docker("image", "inspect", "busybox:multi").out)[0]
    assert img["GraphDriver"]["Name"] == "vfs"
    chains = os.listdir(os.path.join(d.data_root, "vfs", "dir"))
    assert len(chains) == 3
    # the top layer holds the whole tree with whiteouts applied
    import hashlib
    diffs = img["RootFS"]["Layers"]
    chain = diffs[0]
    for diff in diffs[1:]:
        chain = "sha256:" + hashlib.sha256((chain + " " + diff).encode()).hexdigest()
    top = os.path.join(d.data_root, "vfs", "dir", chain[7:])
    assert os.path.exists(os.path.join(top, "bin", "busybox"))
    assert sorted(os.listdir(os.path.join(top, "data"))) == ["dir", "keep.txt"]
    assert os.listdir(os.path.join(top, "data", "dir")) == ["new.txt"]


@pytest.mark.parametrize("entries,expect", [
    ([("../../../../tmp/{victim}", {"data": b"x"})], "escapes"),
    ([("/tmp/{victim}", {"data": b"x"})], "absolute"),
    ([("evil", {"type": tarfile.LNKTYPE, "linkname": "../../../../etc/passwd"})], ""),
    ([("evil", {"type": tarfile.SYMTYPE, "linkname": "../../../../../../tmp"}),
      ("evil/{victim}", {"data": b"x"})], ""),
    ([("root", {"type": tarfile.SYMTYPE, "linkname": "/"}), ("root/tmp/{victim}", {"data": b"x"})], ""),
])
def test_hostile_layers_refused(loaded, tmp_path, entries, expect):
    victim = "berth-victim-" + uuid.uuid4().hex
    entries = [(n.format(victim=victim), kw) for n, kw in entries]
    path = str(tmp_path / "hostile.tar")
    hostile.save_archive(path, hostile.layer(entries), tag="hostile:" + victim[-8:])
    res = loaded.docker("load", "-i", path, check=False)
    assert res.returncode != 0, res.out
    assert expect in res.err
    assert not os.path.exists("/tmp/" + victim)
    assert "hostile" not in loaded.docker("images").out
    assert loaded.request("GET", "/_ping")[0] == 200


def test_hostile_outer_archive_refused(loaded, tmp_path):
    victim = "berth-victim-" + uuid.uuid4().hex
    path = str(tmp_path / "outer.tar")
    hostile.outer_escape_archive(path, victim)
    res = loaded.docker("load", "-i", path, check=False)
    assert res.returncode != 0
    assert not os.path.exists("/tmp/" + victim)


def test_load_garbage_is_a_clear_error(loaded):
    res = loaded.docker("load", input=b"this is not a tarball at all" * 100, check=False)
    assert res.returncode != 0 and res.err.strip()
    assert loaded.request("GET", "/_ping")[0] == 200


def test_docker_py_images(loaded, fixtures, tmp_path):
    c = loaded.client()
    names = sorted(t for i in c.images.list() for t in i.tags)
    assert "busybox:latest" in names
    img = c.images.get("busybox:latest")
    assert img.attrs["Config"]["Cmd"] == ["sh"]
    assert img.tag("pyrepo/img", "v1") is True
    assert "pyrepo/img:v1" in c.images.get("busybox").tags
    c.images.remove("pyrepo/img:v1")
    data = b"".join(img.save(named=True))
    c.images.remove("busybox:multi")
    loaded_imgs = c.images.load(io.BytesIO(b"".join(c.images.get("busybox:latest").save())))
    assert loaded_imgs and loaded_imgs[0].id == img.id
    assert len(data) > 100000
    with open(os.path.join(fixtures, "busybox-multi.tar"), "rb") as f:
        c.images.load(f.read())
    assert c.images.get("busybox:multi").labels == {"org.berth.test": "multi"}
    with pytest.raises(Exception) as exc:
        c.images.get("nope:nope")
    assert "No such image" in str(exc.value)
    res = c.images.prune(filters={"dangling": True})
    assert "SpaceReclaimed" in res


def test_image_events(make_daemon, fixtures, tmp_path):
    import time
    d = make_daemon()
    since = str(time.time() - 1)
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    d.docker("tag", "busybox", "evt/img:1")
    d.docker("rmi", "evt/img:1")
    d.docker("save", "busybox")
    d.docker("rmi", "busybox")
    out = d.docker("events", "--since", since, "--until", str(time.time()), "--filter", "type=image",
                   "--format", "{{.Action}} {{.Actor.Attributes.name}}").out.splitlines()
    for want in ("load busybox:latest", "tag evt/img:1", "untag evt/img:1", "save busybox:latest",
                 "untag busybox:latest", "delete "):
        assert any(line.startswith(want) for line in out), (want, out)

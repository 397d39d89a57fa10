"""Builds docker-save archives whose layer tries to escape its directory."""

import hashlib
import io
import json
import tarfile


def _add(tar, name, data=b"", **kw):
    info = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(info, k, v)
    if info.type == tarfile.REGTYPE:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def layer(entries):
    """entries: list of (name, kwargs) making one layer tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kw in entries:
            kw = dict(kw)
            data = kw.pop("data", b"")
            _add(tar, name, data, **kw)
    return buf.getvalue()


def save_archive(path, layer_bytes, tag="hostile:latest"):
    diff = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                         "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": [diff]},
                         "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "hostile"}]},
                        sort_keys=True).encode()
    cid = hashlib.sha256(config).hexdigest()
    manifest = json.dumps([{"Config": cid + ".json", "RepoTags": [tag], "Layers": ["l/layer.tar"]}]).encode()
    with tarfile.open(path, "w") as tar:
        _add(tar, cid + ".json", config, mode=0o644)
        _add(tar, "l", type=tarfile.DIRTYPE, mode=0o755)
        _add(tar, "l/layer.tar", layer_bytes, mode=0o644)
        _add(tar, "manifest.json", manifest, mode=0o644)


def outer_escape_archive(path, victim_name):
    """A save archive whose own entries try to leave the staging dir."""
    with tarfile.open(path, "w") as tar:
        _add(tar, "../../../../../../tmp/" + victim_name, b"pwned", mode=0o644)
        _add(tar, "manifest.json", b"[]", mode=0o644)

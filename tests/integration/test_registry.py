"""docker push, pull, login and run of a missing image against Debian's
docker-registry (distribution 2.8), started inside the test daemon's
network namespace on 127.0.0.1 with filesystem storage in the test's
directory: once plain, once with htpasswd (bcrypt) basic auth."""

import json
import os
import signal
import subprocess
import time

import pytest

REGISTRY = "/usr/bin/docker-registry"
HTPASSWD = "/usr/bin/htpasswd"

pytestmark = pytest.mark.skipif(not os.path.exists(REGISTRY), reason="docker-registry is not installed")


class Registry:
    def __init__(self, daemon, base, port, htpasswd=None, addr=None, silly=None, accesslog=False, tls=None):
        self.addr = addr or "127.0.0.1:%d" % port
        os.makedirs(base, exist_ok=True)
        self.root = os.path.join(base, "storage")
        cfg = os.path.join(base, "config.yml")
        auth = ""
        if htpasswd:
            auth = "auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n" % htpasswd
        if silly:
            auth = "auth:\n  silly:\n    realm: %s\n    service: berth-test\n" % silly
        with open(cfg, "w") as f:
            f.write("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
                    "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"
                    "http:\n  addr: %s\n  secret: berth-test-secret\n%s" % (self.root, self.addr, auth))
        probe = ["http://%s/v2/" % self.addr]
        if tls:
            cert, key, clientca, ccert, ckey = tls
            with open(cfg, "a") as f:
                f.write("  tls:\n    certificate: %s\n    key: %s\n    clientcas:\n      - %s\n" % (cert, key, clientca))
            probe = ["-k", "--cert", ccert, "--key", ckey, "https://%s/v2/" % self.addr]
        if accesslog:
            with open(cfg) as f:
                text = f.read().replace("disabled: true", "disabled: false")
            with open(cfg, "w") as f:
                f.write(text)
        self.log_path = os.path.join(base, "registry.log")
        self.log = open(os.path.join(base, "registry.log"), "ab")
        self.proc = subprocess.Popen(["nsenter", "--net=/run/netns/" + daemon.netns, REGISTRY, "serve", cfg],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            r = daemon.netns_run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *probe, check=False)
            if r.out in ("200", "401"):
                return
            time.sleep(0.1)
        raise RuntimeError("docker-registry did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def start_daemon(tmp_path_factory, fixtures, label):
    """A daemon of the module's own with busybox loaded."""
    from conftest import Daemon
    d = Daemon(str(tmp_path_factory.mktemp(label)))
    d.start()
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    d.fixtures = fixtures
    return d


def stop_daemon(d, *registries):
    for r in registries:
        r.stop()
    rc = d.stop()
    d.destroy()
    assert rc == 0


def htpasswd_registry(d, name, port):
    """A registry in d's namespace that takes alice / s3cret (bcrypt)."""
    base = os.path.join(d.base, name)
    os.makedirs(base, exist_ok=True)
    pw = os.path.join(base, "htpasswd")
    with open(pw, "w") as f:
        f.write(subprocess.run([HTPASSWD, "-Bbn", "alice", "s3cret"], capture_output=True, check=True,
                               text=True).stdout)
    return Registry(d, base, port, htpasswd=pw)


@pytest.fixture(scope="module")
def reg(tmp_path_factory, fixtures):
    d = start_daemon(tmp_path_factory, fixtures, "berth-registry")
    r = Registry(d, os.path.join(d.base, "registry"), 5000)
    yield d, r
    stop_daemon(d, r)


def test_push_pull_round_trip(reg):
    d, r = reg
    name = r.addr + "/busybox:latest"
    d.docker("tag", "busybox:latest", name)
    out = d.docker("push", name).out
    assert "The push refers to repository [%s/busybox]" % r.addr in out
    assert "Pushed" in out
    line = [l for l in out.splitlines() if l.startswith("latest: digest: sha256:")]
    assert line, out
    digest = line[0].split()[2]
    # A second push finds every layer there.
    again = d.docker("push", name).out
    assert "Layer already exists" in again and "Pushed" not in again, again
    image_id = d.docker("image", "inspect", "-f", "{{.Id}}", name).out.strip()
    d.docker("rmi", name)
    d.docker("rmi", "busybox:latest")
    out = d.docker("pull", name).out
    assert "latest: Pulling from busybox" in out, out
    assert "Pull complete" in out, out
    assert "Digest: " + digest in out, out
    assert "Status: Downloaded newer image for " + name in out, out
    assert d.docker("image", "inspect", "-f", "{{.Id}}", name).out.strip() == image_id
    assert "Image is up to date for " + name in d.docker("pull", name).out
    assert d.docker("run", "--rm", name, "echo", "pulled").out.strip() == "pulled"
    # By digest.
    d.docker("tag", name, "busybox:latest")
    d.docker("rmi", name)
    out = d.docker("pull", r.addr + "/busybox@" + digest).out
    assert "Digest: " + digest in out, out
    assert d.docker("image", "inspect", "-f", "{{.Id}}", r.addr + "/busybox@" + digest).out.strip() == image_id


def test_pull_layers_already_present(reg):
    d, r = reg
    d.docker("load", "-i", os.path.join(d.fixtures, "busybox-multi.tar"))
    d.docker("tag", "busybox:multi", r.addr + "/multi:1")
    d.docker("push", r.addr + "/multi:1")
    d.docker("rmi", r.addr + "/multi:1")
    d.docker("rmi", "busybox:multi")
    out = d.docker("pull", r.addr + "/multi:1").out
    # The base layer is busybox:latest's, still here.
    assert "Already exists" in out, out
    assert "Pull complete" in out, out
    d.docker("tag", r.addr + "/multi:1", "busybox:multi")


def test_missing_tag_error(reg):
    d, r = reg
    res = d.docker("pull", r.addr + "/busybox:nope", check=False)
    assert res.returncode != 0
    assert ("manifest for %s/busybox:nope not found: manifest unknown: manifest unknown" % r.addr) in res.err, res.err


def test_missing_repository_error(reg):
    d, r = reg
    res = d.docker("pull", r.addr + "/nothing-here:1", check=False)
    assert res.returncode != 0
    assert "not found" in res.err or "repository" in res.err, res.err


def test_unreachable_registry(reg):
    d, r = reg
    res = d.docker("pull", "127.0.0.1:5999/busybox:latest", check=False)
    assert res.returncode != 0
    assert "127.0.0.1:5999" in res.err, res.err


def test_run_missing_image_pulls(reg):
    d, r = reg
    name = r.addr + "/runme:latest"
    d.docker("tag", "busybox:latest", name)
    d.docker("push", name)
    d.docker("rmi", name)
    res = d.docker("run", "--rm", name, "echo", "hello")
    assert res.out.strip() == "hello"
    assert "Unable to find image '%s' locally" % name in res.err, res.err
    assert "Downloaded newer image" in res.err or "Pull complete" in res.err, res.err
    # --pull always asks the registry again; --pull never does not.
    res = d.docker("run", "--rm", "--pull", "always", name, "true")
    assert "Image is up to date for " + name in res.err + res.out, (res.out, res.err)
    d.docker("rmi", name)
    res = d.docker("run", "--rm", "--pull", "never", name, "true", check=False)
    assert res.returncode != 0 and "No such image: " + name in res.err, res.err
    assert d.docker("pull", "-q", name).out.strip() == name


def test_push_missing_local_image(reg):
    d, r = reg
    res = d.docker("push", r.addr + "/absent:1", check=False)
    assert res.returncode != 0
    assert "An image does not exist locally with the tag: %s/absent" % r.addr in res.err, res.err


def test_pull_platform_mismatch(reg):
    d, r = reg
    res = d.docker("pull", "--platform", "linux/s390x", r.addr + "/busybox:latest", check=False)
    # A single-platform manifest: dockerd pulls it and complains only when it
    # does not match; berthd refuses it the same way or pulls it.
    assert res.returncode in (0, 1)


def test_pull_stream_with_docker_py(reg):
    d, r = reg
    c = d.client()
    name = r.addr + "/busybox"
    d.docker("tag", "busybox:latest", name + ":py")
    d.docker("push", name + ":py")
    d.docker("rmi", name + ":py")
    msgs = list(c.api.pull(name, tag="py", stream=True, decode=True))
    statuses = [m.get("status", "") for m in msgs]
    assert any(s.startswith("Digest: sha256:") for s in statuses), msgs
    assert "py: Pulling from busybox" not in statuses
    assert msgs[0] == {"status": "Pulling from busybox", "id": "py"}, msgs[0]
    img = c.images.get(name + ":py")
    assert img.id.startswith("sha256:")


@pytest.fixture(scope="module")
def auth_reg(tmp_path_factory, fixtures):
    d = start_daemon(tmp_path_factory, fixtures, "berth-registry-auth")
    r = htpasswd_registry(d, "registry", 5001)
    yield d, r
    stop_daemon(d, r)


def test_login_push_pull_with_basic_auth(auth_reg):
    d, r = auth_reg
    name = r.addr + "/private:1"
    d.docker("tag", "busybox:latest", name)
    res = d.docker("push", name, check=False)
    assert res.returncode != 0
    assert "no basic auth credentials" in res.err or "unauthorized" in res.err, res.err
    bad = d.docker("login", "-u", "alice", "--password-stdin", r.addr, input=b"wrong\n", check=False)
    assert bad.returncode != 0
    assert "401 Unauthorized" in bad.err, bad.err
    good = d.docker("login", "-u", "alice", "--password-stdin", r.addr, input=b"s3cret\n")
    assert "Login Succeeded" in good.out, good.out
    with open(os.path.join(d.docker_config, "config.json")) as f:
        assert r.addr in json.load(f)["auths"]
    out = d.docker("push", name).out
    assert "1: digest: sha256:" in out, out
    d.docker("rmi", name)
    assert "Downloaded newer image for " + name in d.docker("pull", name).out
    d.docker("logout", r.addr)
    d.docker("rmi", name)
    res = d.docker("pull", name, check=False)
    assert res.returncode != 0


def test_auth_endpoint_with_docker_py(auth_reg):
    d, r = auth_reg
    c = d.client()
    out = c.login("alice", "s3cret", registry="http://" + r.addr, reauth=True)
    assert out["Status"] == "Login Succeeded"
    import docker
    with pytest.raises(docker.errors.APIError) as ei:
        c.login("alice", "nope", registry="http://" + r.addr, reauth=True)
    assert "401" in str(ei.value)


def push_digest(d, name):
    out = d.docker("push", name).out
    line = [l for l in out.splitlines() if ": digest: sha256:" in l]
    assert line, out
    return line[-1].split()[2]


def test_multi_platform_index(reg):
    """An OCI index built here and PUT raw: the host's platform by default,
    --platform picks the other entry, and an absent platform is refused."""
    d, r = reg
    repo = r.addr + "/plat"
    d.docker("load", "-i", os.path.join(d.fixtures, "busybox-multi.tar"))
    d.docker("tag", "busybox:latest", repo + ":amd")
    d.docker("tag", "busybox:multi", repo + ":arm")
    amd, arm = push_digest(d, repo + ":amd"), push_digest(d, repo + ":arm")
    def desc(digest, arch, variant=None):
        out = d.netns_run("curl", "-sfI", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
                          "http://%s/v2/plat/manifests/%s" % (r.addr, digest)).out
        size = [l.split(":")[1].strip() for l in out.splitlines() if l.lower().startswith("content-length")][0]
        p = {"os": "linux", "architecture": arch}
        if variant:
            p["variant"] = variant
        return {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": digest,
                "size": int(size), "platform": p}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [desc(amd, "amd64"), desc(arm, "arm64", "v8")]}
    path = os.path.join(d.base, "index.json")
    with open(path, "w") as f:
        json.dump(index, f)
    d.netns_run("curl", "-sf", "-X", "PUT", "-H", "Content-Type: application/vnd.oci.image.index.v1+json",
                "--data-binary", "@" + path, "http://%s/v2/plat/manifests/idx" % r.addr)
    ids = {t: d.docker("image", "inspect", "-f", "{{.Id}}", repo + ":" + t).out.strip() for t in ("amd", "arm")}
    out = d.docker("pull", repo + ":idx").out
    assert "Downloaded newer image" in out or "Image is up to date" in out, out
    got = d.docker("image", "inspect", "-f", "{{.Id}}", repo + ":idx").out.strip()
    assert got == ids["amd"] if os.uname().machine == "x86_64" else got == ids["arm"]
    d.docker("rmi", repo + ":idx")
    d.docker("pull", "--platform", "linux/arm64", repo + ":idx")
    assert d.docker("image", "inspect", "-f", "{{.Id}}", repo + ":idx").out.strip() == ids["arm"]
    res = d.docker("pull", "--platform", "linux/s390x", repo + ":idx", check=False)
    assert res.returncode != 0
    assert "no matching manifest for linux/s390x in the manifest list entries" in res.err, res.err
    # /distribution/{name}/json: the index's descriptor and both platforms.
    info = d.client().api.inspect_distribution(repo + ":idx")
    assert info["Descriptor"]["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert sorted(p["architecture"] for p in info["Platforms"]) == ["amd64", "arm64"]
    one = d.client().api.inspect_distribution(repo + ":amd")
    assert one["Descriptor"]["digest"] == amd
    assert one["Platforms"][0]["os"] == "linux"
    import docker
    with pytest.raises(docker.errors.APIError) as ei:
        d.client().api.inspect_distribution(repo + ":nope")
    assert ei.value.response.status_code == 401
    assert "manifest unknown" in str(ei.value)


def test_mirror_and_insecure_registry_after_reload(reg):
    """registry-mirrors serve a Docker Hub name; insecure-registries (a CIDR)
    lets a non-loopback plain-http registry in.  Both come with SIGHUP."""
    d, r = reg
    d.docker("tag", "busybox:latest", r.addr + "/library/busybox:mirrored")
    push_digest(d, r.addr + "/library/busybox:mirrored")
    d.netns_run("ip", "addr", "add", "10.99.0.1/32", "dev", "lo")
    other = Registry(d, os.path.join(d.base, "registry-10"), 0, addr="10.99.0.1:5002")
    try:
        d.docker("tag", "busybox:latest", "10.99.0.1:5002/far:1")
        res = d.docker("push", "10.99.0.1:5002/far:1", check=False)
        assert res.returncode != 0  # https only: the registry speaks http
        d.write_config({"registry-mirrors": ["http://" + r.addr], "insecure-registries": ["10.99.0.0/16"]})
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        push_digest(d, "10.99.0.1:5002/far:1")
        d.docker("rmi", "10.99.0.1:5002/far:1")
        assert "Downloaded newer image for 10.99.0.1:5002/far:1" in d.docker("pull", "10.99.0.1:5002/far:1").out
        out = d.docker("pull", "busybox:mirrored").out
        assert "Pulling from library/busybox" in out, out
        assert "busybox:mirrored" in out, out
    finally:
        other.stop()
        d.write_config({})
        d.proc.send_signal(signal.SIGHUP)


def registry_blob(r, digest):
    h = digest.split(":")[1]
    return os.path.join(r.root, "docker/registry/v2/blobs/sha256", h[:2], h, "data")


def layer_digest(d, r, repo, tag):
    out = d.netns_run("curl", "-sf", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
                      "http://%s/v2/%s/manifests/%s" % (r.addr, repo, tag)).out
    return json.loads(out)["layers"][0]["digest"]


def test_registry_that_lies(make_daemon, fixtures, tmp_path):
    """A corrupted blob fails the pull on its digest; a truncated one is
    retried max-download-attempts times, then fails; nothing half-pulled
    stays behind."""
    d = make_daemon(config={"max-download-attempts": 2})
    r = Registry(d, str(tmp_path / "registry"), 5000)
    try:
        d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
        name = r.addr + "/liar:1"
        d.docker("tag", "busybox:latest", name)
        push_digest(d, name)
        d.docker("rmi", name)
        d.docker("rmi", "busybox:latest")
        blob = registry_blob(r, layer_digest(d, r, "liar", "1"))
        data = open(blob, "rb").read()
        with open(blob, "wb") as f:
            f.write(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
        res = d.docker("pull", name, check=False)
        assert res.returncode != 0
        assert "filesystem layer verification failed for digest" in res.err, res.err
        with open(blob, "wb") as f:
            f.write(data[: len(data) // 2])
        res = d.docker("pull", name, check=False)
        assert res.returncode != 0, res.out
        # distribution either sends the short file (retried, then failed)
        # or pads it to the size it cached (refused on the digest).
        assert "Retrying in 1 second" in res.out or "verification failed" in res.err, (res.out, res.err)
        assert d.docker("images", "-q").out.strip() == ""
        leftovers = [f for f in os.listdir(os.path.join(d.data_root, "tmp")) if f.startswith(("pull-", "layer-"))]
        assert leftovers == []
        # The honest blob again: the pull works, the daemon is fine.
        with open(blob, "wb") as f:
            f.write(data)
        assert "Downloaded newer image" in d.docker("pull", name).out
        assert d.docker("run", "--rm", name, "true").returncode == 0
    finally:
        r.stop()


TOKEN_SERVER = r'''
import base64, json, sys, http.server
port, log = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    n = 0
    def handle_one(self):
        H.n += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        with open(log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "body": body,
                                "auth": self.headers.get("Authorization") or ""}) + "\n")
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Basic ") and base64.b64decode(auth[6:]).startswith(b"bad:"):
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b'{"details":"incorrect username or password"}')
            return
        out = json.dumps({"access_token": "tok-%d" % H.n, "expires_in": 300,
                          "refresh_token": "refresh-1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = handle_one
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
'''


def test_bearer_token_registry(make_daemon, fixtures, tmp_path):
    """The registry's token auth ('silly': any bearer passes) with a token
    server of the test's own: anonymous pulls and pushes ask it for a token
    with the repository scope; a login sends Basic credentials to it."""
    d = make_daemon()
    base = tmp_path / "registry"
    base.mkdir()
    log = str(tmp_path / "tokens.log")
    script = str(tmp_path / "token_server.py")
    with open(script, "w") as f:
        f.write(TOKEN_SERVER)
    tok = subprocess.Popen(["nsenter", "--net=/run/netns/" + d.netns, "/usr/bin/python3", script, "5005", log])
    try:
        r = Registry(d, str(base), 5000, silly="http://127.0.0.1:5005/token")
        d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
        name = r.addr + "/tok:1"
        d.docker("tag", "busybox:latest", name)
        push_digest(d, name)
        d.docker("rmi", name)
        assert "Downloaded newer image" in d.docker("pull", name).out
        reqs = [json.loads(l) for l in open(log)]
        paths = [q["path"] for q in reqs]
        assert any("scope=repository%3Atok%3Apull%2Cpush" in p and "service=berth-test" in p for p in paths), paths
        assert any(p.endswith("scope=repository%3Atok%3Apull") for p in paths), paths
        assert all(q["auth"] == "" for q in reqs), reqs
        good = d.docker("login", "-u", "alice", "--password-stdin", r.addr, input=b"pw\n")
        assert "Login Succeeded" in good.out
        last = [json.loads(l) for l in open(log)][-1]
        assert last["auth"].startswith("Basic "), last
        # The refresh token came back as IdentityToken; the CLI keeps it and
        # the next pull trades it for an access token (OAuth POST).
        with open(os.path.join(d.docker_config, "config.json")) as f:
            assert json.load(f)["auths"][r.addr].get("identitytoken") == "refresh-1"
        d.docker("rmi", name)
        d.docker("pull", name)
        last = [json.loads(l) for l in open(log)][-1]
        assert last["method"] == "POST", last
        assert "grant_type=refresh_token&refresh_token=refresh-1" in last["body"], last
        assert "client_id=docker" in last["body"] and "scope=repository%3Atok%3Apull" in last["body"], last
        bad = d.docker("login", "-u", "bad", "--password-stdin", r.addr, input=b"pw\n", check=False)
        assert bad.returncode != 0
        assert "incorrect username or password" in bad.err, bad.err
        r.stop()
    finally:
        tok.terminate()
        tok.wait(5)


def test_pull_all_tags(reg):
    d, r = reg
    repo = r.addr + "/alltags"
    d.docker("tag", "busybox:latest", repo + ":one")
    d.docker("tag", "busybox:latest", repo + ":two")
    push_digest(d, repo + ":one")
    push_digest(d, repo + ":two")
    d.docker("rmi", repo + ":one", repo + ":two")
    out = d.docker("pull", "-a", repo).out
    assert "one: Pulling from alltags" in out and "two: Pulling from alltags" in out, out
    assert out.count("Digest: sha256:") == 2, out
    assert "Status: Downloaded newer image for " + repo + "\n" in out, out
    for t in ("one", "two"):
        d.docker("image", "inspect", repo + ":" + t)
    assert "Status: Image is up to date for " + repo in d.docker("pull", "-a", repo).out
    res = d.docker("pull", "-a", r.addr + "/never-pushed", check=False)
    assert res.returncode != 0


EVIL_REGISTRY = r'''
import hashlib, json, sys, http.server, socketserver
port = int(sys.argv[1])
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}).encode()
cdig = "sha256:" + hashlib.sha256(config).hexdigest()
ldig = "sha256:" + "ab" * 32
def manifest(size):
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                  "size": len(config), "digest": cdig},
                       "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                   "size": size, "digest": ldig}]}).encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, body, ctype="application/json"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        p = self.path
        mt = "application/vnd.docker.distribution.manifest.v2+json"
        if p == "/v2/":
            return self.reply(b"{}")
        if p == "/v2/evil/manifests/huge":
            return self.reply(b" " * (5 << 20) + manifest(10), mt)
        if p == "/v2/evil/manifests/endless":
            return self.reply(manifest(1000), mt)
        if p == "/v2/evil/blobs/" + cdig:
            return self.reply(config, "application/octet-stream")
        if p == "/v2/evil/blobs/" + ldig:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"\0" * 65536)
            except OSError:
                return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
S(("127.0.0.1", port), H).serve_forever()
'''


def test_hostile_registry(make_daemon, tmp_path):
    """A manifest over 4 MiB and a layer that never ends fail the pull
    with a clear error, fast, and leave no file behind."""
    d = make_daemon()
    script = str(tmp_path / "evil.py")
    with open(script, "w") as f:
        f.write(EVIL_REGISTRY)
    evil = subprocess.Popen(["nsenter", "--net=/run/netns/" + d.netns, "/usr/bin/python3", script, "5010"])
    try:
        deadline = time.time() + 10
        while d.netns_run("curl", "-sf", "http://127.0.0.1:5010/v2/", check=False).returncode != 0:
            assert time.time() < deadline
            time.sleep(0.1)
        res = d.docker("pull", "127.0.0.1:5010/evil:huge", check=False)
        assert res.returncode != 0
        assert "registry response over 4194304 bytes" in res.err, res.err
        started = time.time()
        res = d.docker("pull", "127.0.0.1:5010/evil:endless", check=False, timeout=60)
        assert res.returncode != 0
        assert "the registry sent more than the 1000 bytes expected" in res.out + res.err, (res.out, res.err)
        assert time.time() - started < 20
        assert [f for f in os.listdir(os.path.join(d.data_root, "tmp")) if f.startswith("pull-")] == []
        assert d.docker("images", "-q").out.strip() == ""
    finally:
        evil.terminate()
        evil.wait(5)


def test_parallel_pulls_download_each_blob_once(reg, tmp_path):
    """Two pulls of one image at the same time: both succeed, and the
    layer blob is fetched from the registry once."""
    import io
    import tarfile
    import threading
    d, _ = reg
    r = Registry(d, str(tmp_path / "registry-log"), 5004, accesslog=True)
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            data = os.urandom(24 << 20)
            info = tarfile.TarInfo("big.bin")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        name = r.addr + "/big:1"
        d.docker("import", "-", name, input=buf.getvalue())
        push_digest(d, name)
        d.docker("rmi", name)
        layer = layer_digest(d, r, "big", "1")
        results = []
        def pull():
            results.append(d.docker("pull", name, check=False))
        threads = [threading.Thread(target=pull) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(res.returncode == 0 for res in results), [(res.out, res.err) for res in results]
        time.sleep(0.2)
        with open(r.log_path, errors="replace") as f:
            gets = [l for l in f if "GET /v2/big/blobs/" + layer in l]
        assert len(gets) == 1, gets
        # Whichever pull came second waited for the first's download.
        assert any(": Waiting" in res.out or "Already exists" in res.out for res in results), \
            [res.out for res in results]
    finally:
        r.stop()


def test_push_mounts_from_another_repository(reg):
    d, r = reg
    d.docker("tag", "busybox:latest", r.addr + "/mount-src:1")
    d.docker("tag", "busybox:latest", r.addr + "/mount-dst:1")
    push_digest(d, r.addr + "/mount-src:1")
    out = d.docker("push", r.addr + "/mount-dst:1").out
    assert "Mounted from mount-src" in out, out
    assert "Pushed" not in out, out
    d.docker("rmi", r.addr + "/mount-dst:1")
    assert "Downloaded newer image" in d.docker("pull", r.addr + "/mount-dst:1").out


def make_certs(dir, ip):
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=dir)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=berth-test-ca")
    for name, ext in (("server", "subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n" % ip),
                      ("client", "extendedKeyUsage=clientAuth\n")):
        with open(os.path.join(dir, name + ".ext"), "w") as f:
            f.write(ext)
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=" + name)
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext")
    return {n: os.path.join(dir, n) for n in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")}


def test_tls_registry_with_certs_d(make_daemon, fixtures, tmp_path):
    """A TLS registry that is not insecure and wants a client certificate:
    refused until certs.d (beside the daemon's config file, as
    /etc/docker/certs.d is beside /etc/docker/daemon.json) holds its CA
    and our client certificate."""
    import shutil
    d = make_daemon()
    certs = make_certs(str(tmp_path), "10.99.0.2")
    d.netns_run("ip", "addr", "add", "10.99.0.2/32", "dev", "lo")
    r = Registry(d, str(tmp_path / "registry"), 0, addr="10.99.0.2:5443",
                 tls=(certs["server.crt"], certs["server.key"], certs["ca.crt"], certs["client.crt"],
                      certs["client.key"]))
    try:
        d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
        name = r.addr + "/secure:1"
        d.docker("tag", "busybox:latest", name)
        res = d.docker("push", name, check=False)
        assert res.returncode != 0
        assert "certificate" in res.err.lower() or "ssl" in res.err.lower(), res.err
        host_dir = os.path.join(d.base, "certs.d", r.addr)
        os.makedirs(host_dir)
        shutil.copy(certs["ca.crt"], os.path.join(host_dir, "ca.crt"))
        shutil.copy(certs["client.crt"], os.path.join(host_dir, "client.cert"))
        shutil.copy(certs["client.key"], os.path.join(host_dir, "client.key"))
        push_digest(d, name)
        d.docker("rmi", name)
        assert "Downloaded newer image for " + name in d.docker("pull", name).out
    finally:
        r.stop()


def test_pull_right_after_rmi_keeps_its_layers(make_daemon, fixtures, tmp_path):
    """rmi deletes layer files in a worker, the base layer last; a pull
    straight after must not reuse a layer that removal is about to delete
    (the push after it reads every layer back)."""
    d = make_daemon()
    r = Registry(d, str(tmp_path / "registry"), 5000)
    try:
        d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
        cid = d.docker("create", "--network", "none", "busybox", "sh", "-c",
                       "for i in 1 2 3 4 5 6 7 8; do dd if=/dev/zero of=/z$i bs=1M count=8 2>/dev/null; done").out.strip()
        d.docker("start", "-a", cid)
        name = r.addr + "/again:1"
        d.docker("commit", cid, name)
        d.docker("rm", cid)
        push_digest(d, name)
        for _ in range(3):
            d.docker("rmi", name, "busybox:latest")
            d.docker("pull", name)
            push_digest(d, name)
            d.docker("tag", name, "busybox:latest")
        assert d.docker("run", "--rm", name, "ls", "/z8").out.strip() == "/z8"
    finally:
        r.stop()


def test_pull_and_push_events(reg):
    d, r = reg
    name = r.addr + "/events:1"
    since = str(int(time.time()) - 1)
    d.docker("tag", "busybox:latest", name)
    push_digest(d, name)
    d.docker("rmi", name)
    d.docker("pull", name)
    until = str(int(time.time()) + 1)
    out = d.docker("events", "--since", since, "--until", until, "--filter", "type=image",
                   "--format", "{{.Action}} {{.Actor.ID}}").out.splitlines()
    assert "push " + name in out, out
    assert "pull " + name in out, out


def test_docker_hub_unreachable(reg):
    """No network in the test's namespace: a Docker Hub pull fails fast,
    naming the registry, as dockerd's does."""
    d, _ = reg
    started = time.time()
    res = d.docker("pull", "busybox:no-network-here", check=False, timeout=90)
    assert res.returncode != 0
    assert 'Get "https://registry-1.docker.io/v2/"' in res.err, res.err
    assert time.time() - started < 60

"""Trust on the swarm port: the root CA and join tokens, node
certificates, TLS 1.3 with client certificates on every connection, and
what is refused: a wrong token, a token for another CA, a forged
certificate, a removed node's certificate, nothing in clear on the wire."""

import json
import os
import subprocess
import sys
import time

from conftest import wait_for, sh
from test_managers import form, statuses

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls_probe.py")
SVC = ["-d", "--no-resolve-image", "--replicas", "0", "busybox:latest", "sleep", "1000"]


def probe(host, target, *args):
    """Runs tls_probe.py in host's namespace against target's swarm port."""
    res = host.netns_run(sys.executable, PROBE, target.addr + ":2377", *args, timeout=30)
    return json.loads(res.out)


def certs_dir(h):
    return os.path.join(h.data_root, "swarm", "certificates")


def cert_subject(path):
    return subprocess.run(["openssl", "x509", "-in", path, "-noout", "-subject", "-issuer", "-enddate"],
                          check=True, capture_output=True, text=True).stdout


def test_ca_tokens_and_node_certificates(make_lab):
    lab = make_lab(2)
    h1, h2 = lab.hosts
    h1.docker("swarm", "init", "--advertise-addr", h1.addr)
    # The root CA: docker swarm ca prints it, GET /swarm and docker info show it.
    root = h1.docker("swarm", "ca").out
    assert root.startswith("-----BEGIN CERTIFICATE-----"), root
    swarm = h1.json("GET", "/swarm")
    assert swarm["TLSInfo"]["TrustRoot"].strip() == root.strip()
    assert swarm["TLSInfo"]["CertIssuerSubject"] and swarm["TLSInfo"]["CertIssuerPublicKey"]
    assert h1.info()["Cluster"]["TLSInfo"]["TrustRoot"] == swarm["TLSInfo"]["TrustRoot"]
    ca_text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=root, check=True, capture_output=True,
                             text=True).stdout
    assert "CN = swarm-ca" in ca_text and "prime256v1" in ca_text and "CA:TRUE" in ca_text, ca_text
    # The tokens' digest part is the CA certificate's sha256 in base 36.
    import hashlib
    digest = int(hashlib.sha256(swarm["TLSInfo"]["TrustRoot"].encode()).hexdigest(), 16)
    want = ""
    while digest:
        digest, r = divmod(digest, 36)
        want = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + want
    for role in ("manager", "worker"):
        token = h1.docker("swarm", "join-token", "-q", role).out.strip()
        assert token.split("-")[2] == want.rjust(50, "0"), token

    token = h1.docker("swarm", "join-token", "-q", "manager").out.strip()
    h2.docker("swarm", "join", "--token", token, "--advertise-addr", h2.addr, h1.addr + ":2377")
    ids = {n["Hostname"]: n["ID"] for n in h1.nodes()}
    cluster = h1.info()["Cluster"]["ID"]
    for h in (h1, h2):
        # The node certificate: CN node ID, OU role, O cluster ID, from the CA, 90 days.
        text = cert_subject(os.path.join(certs_dir(h), "swarm-node.crt"))
        assert "O = %s, OU = swarm-manager, CN = %s" % (cluster, ids["h%d" % h.index]) in text, text
        assert "issuer=CN = swarm-ca" in text, text
        end = subprocess.run(["openssl", "x509", "-in", os.path.join(certs_dir(h), "swarm-node.crt"), "-noout",
                              "-checkend", str(89 * 24 * 3600)], capture_output=True)
        assert end.returncode == 0
        assert oct(os.stat(os.path.join(certs_dir(h), "swarm-node.key")).st_mode & 0o777) == "0o600"
        # docker node inspect shows the node's TLSInfo, the same root everywhere.
        info = json.loads(h1.docker("node", "inspect", ids["h%d" % h.index]).out)[0]["Description"]["TLSInfo"]
        assert info["TrustRoot"] == swarm["TLSInfo"]["TrustRoot"]
        assert info["CertIssuerSubject"] == swarm["TLSInfo"]["CertIssuerSubject"]
        assert info["CertIssuerPublicKey"] == swarm["TLSInfo"]["CertIssuerPublicKey"]
    # Rotation keeps the digest, changes the secret.
    h2.docker("swarm", "join-token", "--rotate", "manager")
    new = h1.docker("swarm", "join-token", "-q", "manager").out.strip()
    assert new[:60] == token[:60] and new != token


def test_wrong_token_and_wrong_ca_digest_refused(make_lab):
    lab = make_lab(2)
    h1, h2 = lab.hosts
    h1.docker("swarm", "init", "--advertise-addr", h1.addr)
    token = h1.docker("swarm", "join-token", "-q", "manager").out.strip()
    before = h2.info()["Cluster"]["ID"]
    # The right CA, a secret the cluster never made.
    parts = token.split("-")
    wrong_secret = "-".join(parts[:3] + ["0" * 25])
    res = h2.docker("swarm", "join", "--token", wrong_secret, h1.addr + ":2377", check=False)
    assert res.returncode != 0 and "A valid join token is necessary to join this cluster" in res.err, res.err
    # A digest that is not the CA's: the node refuses the manager before it
    # sends the token.
    wrong_digest = "-".join(parts[:2] + ["1" * 50, parts[3]])
    res = h2.docker("swarm", "join", "--token", wrong_digest, h1.addr + ":2377", check=False)
    assert res.returncode != 0 and "remote CA does not match fingerprint" in res.err, res.err
    assert "1" * 50 in res.err
    # Each refusal left h2 as it was.
    assert h2.info()["Cluster"]["ID"] == before
    assert [n["Hostname"] for n in h1.nodes()] == ["h1"]


def forge(tmp, subject):
    """A self-signed P-256 certificate with the given subject."""
    cert, key = os.path.join(tmp, "forged.crt"), os.path.join(tmp, "forged.key")
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
       "-keyout", key, "-out", cert, "-days", "2", "-subj", subject)
    return cert, key


def test_forged_certificate_refused_and_tls13_everywhere(make_lab, tmp_path):
    lab = make_lab(3)
    form(lab)
    h1, h2, h3 = lab.hosts
    ids = {n["Hostname"]: n["ID"] for n in h1.nodes()}
    cluster = h1.info()["Cluster"]["ID"]
    hello = json.dumps({"op": "hello"})
    propose = json.dumps({"op": "propose", "cluster": cluster, "ops": []})
    # Without a certificate: TLS 1.3, the bootstrap requests answer, the
    # rest is refused.
    r = probe(h3, h1, "--rpc", hello)
    assert r["version"] == "TLSv1.3" and r["answer"]["status"] == 0 and r["answer"]["ca"], r
    r = probe(h3, h1, "--rpc", propose)
    assert r["answer"]["status"] != 0 and "certificate" in r["answer"]["error"], r
    r = probe(h3, h1, "--raft")
    assert r["answer"] is None and r["closed"], r
    # A real manager's certificate is served.
    real = ["--cert", os.path.join(certs_dir(h2), "swarm-node.crt"), "--key", os.path.join(certs_dir(h2), "swarm-node.key")]
    r = probe(h3, h1, *real, "--rpc", hello)
    assert r["answer"] and r["answer"]["status"] == 0, r
    # A self-signed certificate naming h2 as a manager of this cluster:
    # the connection is closed, whatever it asks.
    forged = forge(str(tmp_path), "/O=%s/OU=swarm-manager/CN=%s" % (cluster, ids["h2"]))
    for req in (["--rpc", hello], ["--rpc", propose], ["--raft"]):
        r = probe(h3, h1, "--cert", forged[0], "--key", forged[1], *req)
        assert r["answer"] is None and r["closed"], (req, r)
    # The cluster is unharmed.
    h2.docker("service", "create", "--name", "after-probes", *SVC)
    wait_for(lambda: "after-probes" in h1.docker("service", "ls", "--format", "{{.Name}}").out, what="replicated")


def test_removed_node_certificate_refused(make_lab, tmp_path):
    lab = make_lab(3)
    form(lab)
    h1, h2, h3 = lab.hosts
    wait_for(lambda: statuses(h1) == [("h1", "Leader"), ("h2", "Reachable"), ("h3", "Reachable")], what="formed")
    ids = {n["Hostname"]: n["ID"] for n in h1.nodes()}
    # h3's certificate, kept aside before it goes.
    kept = {}
    for f in ("swarm-node.crt", "swarm-node.key"):
        kept[f] = os.path.join(str(tmp_path), f)
        with open(os.path.join(certs_dir(h3), f), "rb") as src, open(kept[f], "wb") as dst:
            dst.write(src.read())
    cert = ["--cert", kept["swarm-node.crt"], "--key", kept["swarm-node.key"]]
    hello = json.dumps({"op": "hello"})
    h1.docker("node", "demote", ids["h3"])
    wait_for(lambda: ("h3", "") in statuses(h1), what="h3 demoted")
    h3.stop()
    # Still a node of the swarm: its certificate is accepted.
    r = probe(h3, h1, *cert, "--rpc", hello)
    assert r["answer"] and r["answer"]["status"] == 0, r
    h1.docker("node", "rm", "--force", ids["h3"])
    # Removed: refused at the handshake, by every manager.
    for target in (h1, h2):
        r = wait_for(lambda: (lambda p: p if p["closed"] and p["answer"] is None else None)(probe(h3, target, *cert,
                                                                                                  "--rpc", hello)),
                     what="h3's certificate refused by %s" % target.netns)
        assert r["handshake"]
    log = h1.read_log()
    assert "node %s was removed from the swarm" % ids["h3"] in log


def test_nothing_in_clear_on_the_swarm_port(make_lab, fixtures, tmp_path):
    lab = make_lab(3, start=False)
    pcap = os.path.join(str(tmp_path), "swarm.pcap")
    dump = subprocess.Popen(["nsenter", "--net=/run/netns/" + lab.name, "tcpdump", "-i", "br0", "-U", "-s", "0",
                             "-w", pcap, "tcp", "port", "2377"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1)
        lab.start()
        form(lab)
        h1, h2, h3 = lab.hosts
        # A write through a follower (forwarded over node RPC, then raft to
        # every manager) with a name to look for.
        h2.docker("service", "create", "--name", "plaintextcanary", "--label", "canarylabel=canaryvalue", *SVC)
        wait_for(lambda: "plaintextcanary" in h3.docker("service", "ls", "--format", "{{.Name}}").out,
                 what="replicated")
        time.sleep(1)
    finally:
        dump.terminate()
        dump.wait(timeout=10)
    with open(pcap, "rb") as f:
        data = f.read()
    assert len(data) > 20000, "the capture saw no swarm traffic (%d bytes)" % len(data)
    # TLS records (handshake 0x16, application data 0x17, version 0x0303).
    assert b"\x17\x03\x03" in data and b"\x16\x03\x01" in data
    for clear in (b"plaintextcanary", b"canarylabel", b"canaryvalue", b"BERTHRPC", b"SWMTKN", b"propose",
                  b"busybox", b"swarm-ca"):
        assert clear not in data, clear


def test_certificate_reissued_at_start_with_the_cluster_expiry(make_lab, tmp_path):
    lab = make_lab(1)
    h1 = lab.hosts[0]
    h1.docker("swarm", "init", "--advertise-addr", h1.addr)
    h1.docker("swarm", "update", "--cert-expiry", "2h")
    crt = os.path.join(certs_dir(h1), "swarm-node.crt")
    key = os.path.join(certs_dir(h1), "swarm-node.key")
    # A certificate of another CA in its place (and then none at all): at
    # the next start the node signs a new one with the cluster's CA, for
    # the cluster's expiry.
    forged = forge(str(tmp_path), "/O=x/OU=swarm-manager/CN=y")
    for replace in (True, False):
        h1.stop()
        if replace:
            os.replace(forged[0], crt)
            os.replace(forged[1], key)
        else:
            os.unlink(crt)
            os.unlink(key)
        h1.start()
        text = cert_subject(crt)
        assert "issuer=CN = swarm-ca" in text, text
        assert subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-checkend", "3600"]).returncode == 0
        assert subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-checkend", str(3 * 3600)],
                              capture_output=True).returncode != 0
        assert "node certificate issued" in h1.read_log()

"""Logging drivers to receivers the test starts itself: syslog (unix, udp,
tcp), gelf (udp with compression and chunking, tcp), fluentd (forward
protocol over tcp and unix), journald (native protocol on a socket of the
test's own), none; docker logs through dockerd's dual-logging cache."""

import calendar
import ctypes
import gzip
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import zlib

import msgpack
import pytest

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL("libc.so.6", use_errno=True)


class Receiver:
    """A socket server in a thread; inet sockets are made inside the
    daemon's network namespace (setns affects only the calling thread)."""

    def __init__(self, d, family, kind, path=None, tls=None):
        self.data = []       # datagrams, or bytes of the stream
        self.tls = tls       # an ssl.SSLContext for the accepted streams
        self.tls_errors = []
        self.ready = threading.Event()
        self.stop = False
        self.path = path
        self.t = threading.Thread(target=self.run, args=(d, family, kind), daemon=True)
        self.t.start()
        assert self.ready.wait(5)

    def run(self, d, family, kind):
        if family != socket.AF_UNIX:
            fd = os.open("/run/netns/" + d.netns, os.O_RDONLY)
            assert libc.setns(fd, CLONE_NEWNET) == 0
            os.close(fd)
        s = socket.socket(family, kind)
        s.bind(self.path if family == socket.AF_UNIX else ("127.0.0.1", 0))
        self.port = None if family == socket.AF_UNIX else s.getsockname()[1]
        s.settimeout(0.2)
        if kind == socket.SOCK_STREAM:
            s.listen(4)
        self.ready.set()
        conns = []
        while not self.stop:
            try:
                if kind == socket.SOCK_DGRAM:
                    self.data.append(s.recv(65536))
                    continue
                c, _ = s.accept()
                if self.tls:
                    c.settimeout(5)
                    try:
                        c = self.tls.wrap_socket(c, server_side=True)
                    except (ssl.SSLError, OSError) as err:
                        self.tls_errors.append(str(err))
                        c.close()
                        continue
                c.settimeout(0.2)
                conns.append(c)
            except socket.timeout:
                pass
            for c in conns:
                try:
                    chunk = c.recv(65536)
                    if chunk:
                        self.data.append(chunk)
                except (socket.timeout, ssl.SSLWantReadError):
                    pass
        s.close()

    def wait_for(self, pred, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred(self):
                return True
            time.sleep(0.05)
        return False

    def stream(self):
        return b"".join(self.data)

    def close(self):
        self.stop = True
        self.t.join(5)


@pytest.fixture
def d(make_daemon, fixtures):
    d = make_daemon()
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    return d


def run(d, *args):
    return d.docker("run", "--network", "none", *args)


def test_syslog_unix_rfc3164_and_logs_from_cache(d, tmp_path):
    r = Receiver(d, socket.AF_UNIX, socket.SOCK_DGRAM, path=str(tmp_path / "log.sock"))
    run(d, "--name", "s1", "--log-driver", "syslog", "--log-opt", "syslog-address=unixgram://" + r.path,
        "--log-opt", "tag={{.Name}}/{{.ID}}", "--log-opt", "syslog-format=rfc3164", "--log-opt", "syslog-facility=local3",
        "busybox", "sh", "-c", "echo hello; echo oops >&2")
    cid = d.docker("inspect", "-f", "{{.Id}}", "s1").out.strip()
    assert r.wait_for(lambda r: len(r.data) >= 2)
    msgs = [m.decode() for m in r.data]
    out = [m for m in msgs if m.endswith("hello")][0]
    err = [m for m in msgs if m.endswith("oops")][0]
    # local3 = 19: stdout info (19*8+6), stderr err (19*8+3)
    assert out.startswith("<158>") and err.startswith("<155>")
    assert " s1/%s[" % cid[:12] in out
    # dual logging: docker logs reads the cache
    assert d.docker("logs", "s1").out == "hello\n"
    r.close()


def test_syslog_udp_and_tcp_rfc5424(d):
    u = Receiver(d, socket.AF_INET, socket.SOCK_DGRAM)
    run(d, "--log-driver", "syslog", "--log-opt", "syslog-address=udp://127.0.0.1:%d" % u.port,
        "--log-opt", "syslog-format=rfc5424micro", "busybox", "echo", "via-udp")
    assert u.wait_for(lambda r: r.data)
    m = u.data[0].decode()
    assert m.startswith("<30>1 ") and m.endswith(" - via-udp")  # daemon facility, info
    ts = m.split(" ")[1]
    assert "." in ts and len(ts.split(".")[1]) == 7  # microseconds + Z
    u.close()
    t = Receiver(d, socket.AF_INET, socket.SOCK_STREAM)
    run(d, "--log-driver", "syslog", "--log-opt", "syslog-address=tcp://127.0.0.1:%d" % t.port,
        "--log-opt", "syslog-format=rfc5424", "busybox", "sh", "-c", "echo one; echo two")
    assert t.wait_for(lambda r: r.stream().count(b" - ") >= 2)
    data = t.stream().decode()
    # RFC 5425 octet counting: "LEN MSG"
    n, rest = data.split(" ", 1)
    assert len(rest[:int(n)]) == int(n) and rest[:int(n)].endswith(" - one")
    t.close()


def make_pki(tmp):
    """A CA, a server certificate for 127.0.0.1 and a client certificate,
    made with openssl."""
    def sh(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=tmp)
    sh("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
       "-subj", "/CN=berth test CA")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                      ("client", "extendedKeyUsage=clientAuth")):
        sh("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
           "-subj", "/CN=" + name)
        with open(os.path.join(tmp, name + ".ext"), "w") as f:
            f.write(ext + "\n")
        sh("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
           "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext")
    return {n: os.path.join(tmp, n) for n in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}


def test_syslog_tcp_tls(d, tmp_path):
    pki = make_pki(str(tmp_path))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["server.pem"], pki["server.key"])
    ctx.load_verify_locations(pki["ca.pem"])
    ctx.verify_mode = ssl.CERT_REQUIRED   # the client certificate is checked too
    t = Receiver(d, socket.AF_INET, socket.SOCK_STREAM, tls=ctx)
    addr = "syslog-address=tcp+tls://127.0.0.1:%d" % t.port
    client = ["--log-opt", "syslog-tls-cert=" + pki["client.pem"], "--log-opt", "syslog-tls-key=" + pki["client.key"]]
    run(d, "--name", "tls1", "--log-driver", "syslog", "--log-opt", addr, "--log-opt", "syslog-tls-ca-cert=" + pki["ca.pem"],
        *client, "--log-opt", "syslog-format=rfc5424", "busybox", "sh", "-c", "echo one; echo two")
    assert t.wait_for(lambda r: r.stream().count(b" - ") >= 2), (t.data, t.tls_errors)
    data = t.stream().decode()
    n, rest = data.split(" ", 1)
    assert rest[:int(n)].endswith(" - one") and rest.endswith(" - two")
    assert d.docker("logs", "tls1").out == "one\ntwo\n"
    # the server's certificate is checked: not against the system's roots
    res = d.docker("run", "--network", "none", "--log-driver", "syslog", "--log-opt", addr, *client, "busybox", "true",
                   check=False)
    assert res.returncode != 0 and "failed to verify certificate" in res.err, res.err
    # unless told not to
    run(d, "--log-driver", "syslog", "--log-opt", addr, "--log-opt", "syslog-tls-skip-verify=true", *client,
        "busybox", "echo", "unverified")
    assert t.wait_for(lambda r: b"unverified" in r.stream())
    # a key pair that does not load fails the create
    res = d.docker("run", "--network", "none", "--log-driver", "syslog", "--log-opt", addr,
                   "--log-opt", "syslog-tls-cert=/nonexistent.pem", "--log-opt", "syslog-tls-key=/nonexistent.key",
                   "busybox", "true", check=False)
    assert res.returncode != 0 and "could not load client key pair" in res.err, res.err
    t.close()


def test_syslog_unreachable_fails_start(d):
    res = d.docker("run", "--network", "none", "--log-driver", "syslog", "--log-opt",
                   "syslog-address=tcp://127.0.0.1:1", "busybox", "true", check=False)
    assert res.returncode != 0
    assert "failed to initialize logging driver" in res.err and "connection refused" in res.err.lower()


def gelf_decode(datagrams):
    """Reassembles chunked GELF and decompresses it."""
    msgs, chunks = [], {}
    for g in datagrams:
        if g[:2] == b"\x1e\x0f":
            mid, seq, count = g[2:10], g[10], g[11]
            chunks.setdefault(mid, {})[seq] = g[12:]
            if len(chunks[mid]) == count:
                g = b"".join(chunks[mid][i] for i in range(count))
            else:
                continue
        if g[:2] == b"\x1f\x8b":
            g = gzip.decompress(g)
        elif g[:1] == b"\x78":
            g = zlib.decompress(g)
        msgs.append(json.loads(g))
    return msgs


def test_gelf_udp_gzip_zlib_chunked(d):
    u = Receiver(d, socket.AF_INET, socket.SOCK_DGRAM)
    addr = "gelf-address=udp://127.0.0.1:%d" % u.port
    run(d, "--name", "g1", "--label", "team=blue", "--log-driver", "gelf", "--log-opt", addr,
        "--log-opt", "labels=team", "busybox", "echo", "gelf-hello")
    assert u.wait_for(lambda r: r.data)
    assert u.data[0][:2] == b"\x1f\x8b"  # gzip by default
    m = gelf_decode(u.data)[0]
    assert m["version"] == "1.1" and m["short_message"] == "gelf-hello" and m["level"] == 6
    assert m["_container_name"] == "g1" and m["_team"] == "blue" and m["_image_name"] == "busybox"
    u.data.clear()
    run(d, "--log-driver", "gelf", "--log-opt", addr, "--log-opt", "gelf-compression-type=zlib",
        "busybox", "echo", "zlib-hello")
    assert u.wait_for(lambda r: r.data)
    assert gelf_decode(u.data)[0]["short_message"] == "zlib-hello"
    u.data.clear()
    # a line too big for one datagram is chunked (uncompressed so it stays big)
    run(d, "--log-driver", "gelf", "--log-opt", addr, "--log-opt", "gelf-compression-type=none",
        "busybox", "sh", "-c", "head -c 6000 /dev/zero | tr '\\0' x; echo")
    assert u.wait_for(lambda r: len(r.data) >= 5)
    assert all(g[:2] == b"\x1e\x0f" for g in u.data)
    assert gelf_decode(u.data)[0]["short_message"] == "x" * 6000
    u.close()


def test_gelf_tcp(d):
    t = Receiver(d, socket.AF_INET, socket.SOCK_STREAM)
    run(d, "--log-driver", "gelf", "--log-opt", "gelf-address=tcp://127.0.0.1:%d" % t.port,
        "busybox", "sh", "-c", "echo a; echo b")
    assert t.wait_for(lambda r: r.stream().count(b"\0") >= 2)
    msgs = [json.loads(p) for p in t.stream().split(b"\0") if p]
    assert [m["short_message"] for m in msgs] == ["a", "b"]
    t.close()


def fluentd_decode(data):
    u = msgpack.Unpacker(raw=False, ext_hook=lambda code, b: (code, b))
    u.feed(data)
    return list(u)


def test_fluentd_tcp_and_unix(d, tmp_path):
    t = Receiver(d, socket.AF_INET, socket.SOCK_STREAM)
    run(d, "--name", "f1", "--log-driver", "fluentd", "--log-opt", "fluentd-address=127.0.0.1:%d" % t.port,
        "--log-opt", "tag=app.{{.Name}}", "--log-opt", "fluentd-sub-second-precision=true",
        "busybox", "sh", "-c", "echo fl-out; echo fl-err >&2")
    assert t.wait_for(lambda r: len(fluentd_decode(r.stream())) >= 2)
    events = fluentd_decode(t.stream())
    tag, when, rec = events[0]
    assert tag == "app.f1"
    assert when[0] == 0 and len(when[1]) == 8  # EventTime
    recs = {e[2]["source"]: e[2] for e in events}
    assert recs["stdout"]["log"] == "fl-out" and recs["stderr"]["log"] == "fl-err"
    assert recs["stdout"]["container_name"] == "/f1" and len(recs["stdout"]["container_id"]) == 64
    t.close()
    u = Receiver(d, socket.AF_UNIX, socket.SOCK_STREAM, path=str(tmp_path / "fluent.sock"))
    run(d, "--log-driver", "fluentd", "--log-opt", "fluentd-address=unix://" + u.path, "busybox", "echo", "via-unix")
    assert u.wait_for(lambda r: fluentd_decode(r.stream()))
    tag, when, rec = fluentd_decode(u.stream())[0]
    assert tag.startswith("docker.") and isinstance(when, int) and rec["log"] == "via-unix"
    u.close()


def journal_parse(dgram):
    fields, i = {}, 0
    while i < len(dgram):
        nl = dgram.index(b"\n", i)
        line = dgram[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            fields[k.decode()] = v.decode()
            i = nl + 1
        else:
            n = int.from_bytes(dgram[nl + 1:nl + 9], "little")
            fields[line.decode()] = dgram[nl + 9:nl + 9 + n].decode()
            i = nl + 9 + n + 1
    return fields


def test_journald_native_protocol(make_daemon, fixtures, tmp_path):
    sock = str(tmp_path / "journal.sock")
    d = make_daemon(start=False)
    os.environ["BERTH_JOURNALD_SOCKET"] = sock
    try:
        d.start()
    finally:
        del os.environ["BERTH_JOURNALD_SOCKET"]
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    r = Receiver(d, socket.AF_UNIX, socket.SOCK_DGRAM, path=sock)
    run(d, "--name", "j1", "--log-driver", "journald", "busybox", "sh", "-c", "echo journal-line; echo bad >&2")
    assert r.wait_for(lambda r: len(r.data) >= 2)
    f = [journal_parse(g) for g in r.data]
    out = [x for x in f if x["MESSAGE"] == "journal-line"][0]
    assert out["CONTAINER_NAME"] == "j1" and out["PRIORITY"] == "6" and len(out["CONTAINER_ID_FULL"]) == 64
    assert [x for x in f if x["MESSAGE"] == "bad"][0]["PRIORITY"] == "3"
    assert d.docker("logs", "j1").out == "journal-line\n"
    r.close()


def test_none_and_cache_disabled_cannot_be_read(d, tmp_path):
    run(d, "--name", "n1", "--log-driver", "none", "busybox", "echo", "x")
    res = d.docker("logs", "n1", check=False)
    assert res.returncode != 0 and "configured logging driver does not support reading" in res.err
    r = Receiver(d, socket.AF_UNIX, socket.SOCK_DGRAM, path=str(tmp_path / "l.sock"))
    run(d, "--name", "n2", "--log-driver", "syslog", "--log-opt", "syslog-address=unixgram://" + r.path,
        "--log-opt", "cache-disabled=true", "busybox", "echo", "y")
    assert r.wait_for(lambda r: r.data)
    res = d.docker("logs", "n2", check=False)
    assert res.returncode != 0 and "does not support reading" in res.err
    r.close()


def test_daemon_default_log_driver(make_daemon, fixtures, tmp_path):
    path = str(tmp_path / "dflt.sock")
    d = make_daemon(config={"log-driver": "syslog", "log-opts": {"syslog-address": "unixgram://" + path, "tag": "dflt"}},
                    start=False)
    r = Receiver(d, socket.AF_UNIX, socket.SOCK_DGRAM, path=path)
    d.start()
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    run(d, "--name", "dd", "busybox", "echo", "from-default")
    assert r.wait_for(lambda r: r.data)
    assert r.data[0].decode().endswith("dflt[%d]: from-default" % d.proc.pid)
    lc = json.loads(d.docker("inspect", "dd").out)[0]["HostConfig"]["LogConfig"]
    assert lc["Type"] == "syslog" and lc["Config"]["tag"] == "dflt"
    assert json.loads(d.docker("info", "--format", "{{json .}}").out)["LoggingDriver"] == "syslog"
    r.close()


def test_blocked_receiver_does_not_stall(d):
    # a tcp receiver that accepts and never reads: the socket buffer fills,
    # lines are dropped, and the container and daemon go on
    fd = os.open("/run/netns/" + d.netns, os.O_RDONLY)
    done = {}

    def listen():
        assert libc.setns(fd, CLONE_NEWNET) == 0
        t = done["sock"] = socket.socket()  # made inside the namespace
        # a small window, so the kernel's buffers cannot absorb the output
        t.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        t.bind(("127.0.0.1", 0))
        t.listen(1)
        done["port"] = t.getsockname()[1]
    th = threading.Thread(target=listen)
    th.start()
    th.join()
    os.close(fd)
    start = time.time()
    res = run(d, "--log-driver", "fluentd", "--log-opt", "fluentd-address=127.0.0.1:%d" % done["port"],
              "--log-opt", "mode=non-blocking", "--log-opt", "max-buffer-size=64k",
              "busybox", "sh", "-c", "i=0; while [ $i -lt 100000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done")
    assert time.time() - start < 60
    assert d.request("GET", "/_ping")[0] == 200
    # logged when the container's log closes, which can follow the CLI's return
    deadline = time.time() + 10
    while "lines dropped" not in d.read_log() and time.time() < deadline:
        time.sleep(0.1)
    assert "lines dropped" in d.read_log()
    done["sock"].close()


def test_local_driver_compact_rotated_compressed(d):
    """local: berth's binary records, rotated at max-size, rotated files
    gzipped, and docker logs reads them back with tail, since and follow."""
    run(d, "-d", "--name", "loc", "--log-driver", "local", "--log-opt", "max-size=2k", "--log-opt", "max-file=3",
        "busybox", "sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done; "
        "sleep 0.5; echo done >&2; sleep 2; echo late")
    cid = d.docker("inspect", "-f", "{{.Id}}", "loc").out.strip()
    logs = os.path.join(d.data_root, "containers", cid, "local-logs")

    def settled():
        out = d.docker("logs", "loc").out
        return "line 299" in out and "done" in d.docker("logs", "loc").err
    deadline = time.time() + 20
    while time.time() < deadline and not settled():
        time.sleep(0.1)
    files = sorted(os.listdir(logs))
    assert files == ["container.log", "container.log.1.gz", "container.log.2.gz"], files
    # compressed: gzip data that opens; records, not JSON
    raw = gzip.open(os.path.join(logs, "container.log.1.gz")).read()
    assert raw and raw[0] == 0 and b'"log"' not in raw
    # rotation dropped the oldest; what is kept is in order, both streams
    out = d.docker("logs", "loc").out.split("\n")
    nums = [int(l.split()[1]) for l in out if l.startswith("line ")]
    assert nums[-1] == 299 and nums == list(range(nums[0], 300)) and nums[0] > 0
    res = d.docker("logs", "loc")
    assert res.err == "done\n"
    # follow picks up what comes after
    f = d.docker("logs", "-f", "--tail", "0", "loc", timeout=30)
    assert f.out == "late\n", f.out
    assert d.docker("logs", "--tail", "1", "loc").out == "late\n"
    t3 = d.docker("logs", "--tail", "3", "loc")
    assert t3.out == "line 299\nlate\n" and t3.err == "done\n"
    # "late" came 2 s after the rest: a second before it (whole seconds)
    # falls between them
    ts = d.docker("logs", "-t", "--tail", "1", "loc").out.split()[0]
    late = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    since = d.docker("logs", "--since", str(late - 1), "loc")
    assert since.out == "late\n" and since.err == "", since.out
    # the exact time a line was printed with takes that line (nanoseconds kept)
    assert d.docker("logs", "--since", ts, "loc").out == "late\n"
    assert d.docker("logs", "--until", ts, "--tail", "1", "loc").out == "late\n"
    # bad options fail the create with dockerd's messages
    res = d.docker("run", "--log-driver", "local", "--log-opt", "compress=maybe", "busybox", "true", check=False)
    assert res.returncode != 0 and "error reading compress log option" in res.err
    res = d.docker("run", "--log-driver", "local", "--log-opt", "labels=x", "busybox", "true", check=False)
    assert res.returncode != 0 and "unknown log opt 'labels' for log driver local" in res.err

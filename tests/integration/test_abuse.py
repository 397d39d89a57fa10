"""API abuse: idle and trickling clients, oversized requests, a thousand
streams, attach clients that vanish.  Other clients must still be served,
the daemon's descriptors and memory must come back, and every limit must
answer with a clear error.  The figures printed here go to docs/security.md."""

import json
import os
import resource
import select
import socket
import time

from conftest import SANITIZED

NET = ["--network", "none"]


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def fds(d):
    return len(os.listdir("/proc/%d/fd" % d.proc.pid))


def rss_kb(d):
    with open("/proc/%d/status" % d.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


def connect(d):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    deadline = time.time() + 10
    while True:
        try:
            s.connect(d.sock)
            return s
        except BlockingIOError:
            # the listen queue is full for a moment (a socket with a timeout
            # gets EAGAIN where a blocking one would wait)
            assert time.time() < deadline
            time.sleep(0.01)


def timed_ping(d):
    t0 = time.time()
    status, _, body = d.request("GET", "/_ping", timeout=10)
    assert status == 200 and body == b"OK"
    return time.time() - t0


def wait_fds(d, target, timeout=10):
    deadline = time.time() + timeout
    while fds(d) > target and time.time() < deadline:
        time.sleep(0.05)
    return fds(d)


def test_idle_and_trickling_clients(make_daemon):
    d = make_daemon()
    n = min(2000, raise_fd_limit() // 2 - 100)
    base_fds, base_rss = fds(d), rss_kb(d)
    idle = []
    for _ in range(n):
        s = connect(d)
        s.sendall(b"GET /_ping HTTP/1.1\r\nHo")   # a header that never ends
        idle.append(s)
    # More clients than libmicrohttpd's default cap (1020): all held, and
    # others are still served at once.
    deadline = time.time() + 10
    while fds(d) < n and time.time() < deadline:
        time.sleep(0.05)
    assert fds(d) >= n, "the daemon holds %d descriptors for %d clients" % (fds(d), n)
    assert timed_ping(d) < 1.0
    held_rss = rss_kb(d)
    # A request trickled a byte at a time is answered, and nobody waits on it.
    slow = connect(d)
    req = b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"
    pings = []
    for i in range(len(req)):
        slow.sendall(req[i:i + 1])
        time.sleep(0.02)
        if i % 8 == 0:
            pings.append(timed_ping(d))
    assert slow.recv(4096).startswith(b"HTTP/1.1 200 OK")
    assert max(pings) < 1.0
    slow.close()
    for s in idle:
        s.close()
    assert wait_fds(d, base_fds) <= base_fds
    print("abuse: %d idle connections held: RSS %d -> %d KiB (%.1f KiB each), /_ping %.1f ms at worst"
          % (n, base_rss, held_rss, (held_rss - base_rss) / n, max(pings) * 1000))


def test_oversized_requests(make_daemon):
    d = make_daemon()
    s = connect(d)
    s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
    reply = s.recv(4096)
    s.close()
    assert reply.startswith(b"HTTP/1.1 431 "), reply[:100]
    body = json.dumps({"Image": "busybox", "Labels": {"x": "a" * (12 << 20)}})
    status, _, data = d.request("POST", "/containers/create", body=body,
                                headers={"Content-Type": "application/json"})
    assert status == 413 and json.loads(data)["message"] == "request body too large"
    assert timed_ping(d) < 1.0


def test_a_thousand_event_streams(make_daemon):
    d = make_daemon()
    n = min(1000, raise_fd_limit() // 2 - 100)
    base_fds, base_rss = fds(d), rss_kb(d)
    streams = []
    for _ in range(n):
        s = connect(d)
        s.sendall(b"GET /events?filters=%7B%22type%22%3A%5B%22volume%22%5D%7D HTTP/1.1\r\nHost: x\r\n\r\n")
        streams.append(s)
    for s in streams:
        assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
    held_rss = rss_kb(d)
    t0 = time.time()
    d.docker("volume", "create", "abuse-ev")
    # every stream gets the event
    waiting = {s.fileno(): s for s in streams}
    got = {fd: b"" for fd in waiting}
    poller = select.poll()
    for fd in waiting:
        poller.register(fd, select.POLLIN)
    deadline = time.time() + (60 if SANITIZED else 20)
    while waiting and time.time() < deadline:
        for fd, _ in poller.poll(1000):
            got[fd] += waiting[fd].recv(65536)
            if b"abuse-ev" in got[fd]:
                poller.unregister(fd)
                del waiting[fd]
    fanout = time.time() - t0
    assert not waiting, "%d of %d streams did not get the event" % (len(waiting), n)
    assert timed_ping(d) < 1.0
    for s in streams:
        s.close()
    assert wait_fds(d, base_fds) <= base_fds
    d.docker("volume", "rm", "abuse-ev")
    print("abuse: %d /events streams: RSS %d -> %d KiB (%.1f KiB each), one event to all in %.0f ms"
          % (n, base_rss, held_rss, (held_rss - base_rss) / n, fanout * 1000))


def test_attach_clients_that_vanish(make_daemon, fixtures):
    d = make_daemon()
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    # A flood (test_flooding_container_does_not_starve_others) is not needed
    # here, only output that piles up unread.
    cid = d.docker("run", "-d", *NET, "--log-opt", "max-size=1m", "busybox", "sh", "-c",
                   "while :; do echo spam; usleep 200; done").out.strip()
    base_fds = fds(d)
    rss_before = rss_kb(d)
    for round_no in range(5):
        clients = []
        for _ in range(20):
            s = connect(d)
            s.sendall(("POST /containers/%s/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\n"
                       "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" % cid).encode())
            assert s.recv(4096).startswith(b"HTTP/1.1 101")
            clients.append(s)
        time.sleep(0.3)   # output piles up unread
        for s in clients:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()     # gone without a word (RST)
    assert wait_fds(d, base_fds) <= base_fds
    assert json.loads(d.docker("inspect", cid).out)[0]["State"]["Running"]
    assert "spam" in d.docker("logs", "--tail", "1", cid).out
    assert timed_ping(d) < 1.0
    rss_after = rss_kb(d)
    d.docker("rm", "-f", cid)
    print("abuse: 100 attach clients vanished mid-stream: descriptors back to %d, RSS %d -> %d KiB"
          % (base_fds, rss_before, rss_after))
    if not SANITIZED:
        assert rss_after - rss_before < 16 * 1024


def test_flooding_container_does_not_starve_others(make_daemon, fixtures):
    """A container writing as fast as it can must not keep the loop to
    itself: its output is read a bounded amount per turn of the loop."""
    d = make_daemon()
    d.docker("load", "-i", os.path.join(fixtures, "busybox.tar"))
    cid = d.docker("run", "-d", *NET, "--log-opt", "max-size=1m", "--log-opt", "max-file=2", "busybox", "sh", "-c",
                   "while :; do echo spam; done").out.strip()
    time.sleep(0.5)
    worst = max(timed_ping(d) for _ in range(20))
    s = connect(d)
    s.sendall(("POST /containers/%s/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\n"
               "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" % cid).encode())
    assert s.recv(4096).startswith(b"HTTP/1.1 101")
    s.close()
    d.docker("rm", "-f", cid)
    assert worst < (3.0 if SANITIZED else 1.0), "a /_ping took %.1f s while a container flooded its output" % worst
    print("abuse: /_ping while a container floods its output: %.1f ms at worst" % (worst * 1000))

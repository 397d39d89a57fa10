"""WebSocket attach, GET /containers/{id}/attach/ws (issue 17): the RFC
6455 handshake over the hijacked connection, the raw output in binary
frames (text before API 1.28), stdin from the client's masked frames,
close and ping, and the stdin/stdout/stderr parameters from API 1.42."""

import base64
import hashlib
import os
import socket
import struct
import time

import pytest


@pytest.fixture(scope="module")
def image(busybox):
    return busybox


class WS:
    """A minimal WebSocket client: enough of RFC 6455 for the tests."""

    def __init__(self, sock_path, path, key=None):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(20)
        self.s.connect(sock_path)
        self.key = key or base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, self.key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.s.recv(1)
            assert chunk, head
            head += chunk
        self.head = head.decode()
        self.buf = b""

    def accept_expected(self):
        digest = hashlib.sha1((self.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        return base64.b64encode(digest).decode()

    def send(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        else:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        self.s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk

    def frame(self):
        """(opcode, payload) of the next frame, None at the end."""
        try:
            self._need(2)
        except EOFError:
            return None
        b0, b1 = self.buf[0], self.buf[1]
        assert b0 & 0x80 and not b1 & 0x80, "server frames are final and unmasked"
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, off = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
        self._need(off + n)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return b0 & 0x0F, payload

    def read_until(self, want, opcode=2):
        got = b""
        deadline = time.time() + 20
        while want not in got and time.time() < deadline:
            f = self.frame()
            assert f is not None, got
            assert f[0] == opcode, f
            got += f[1]
        return got

    def close(self):
        self.s.close()


def test_ws_attach_stdin_and_output(daemon, image):
    cid = daemon.docker("run", "-d", "-i", "--network", "none", image, "cat").out.strip()
    try:
        ws = WS(daemon.sock, "/v1.47/containers/%s/attach/ws?stream=1&stdin=1&stdout=1&stderr=1" % cid)
        assert ws.head.startswith("HTTP/1.1 101"), ws.head
        assert "Upgrade: websocket" in ws.head
        assert "Sec-WebSocket-Accept: %s\r\n" % ws.accept_expected() in ws.head
        ws.send(0x2, b"through the socket\n")
        assert ws.read_until(b"through the socket\n") == b"through the socket\n"
        # a text frame is input too; a ping gets its pong
        ws.send(0x1, b"text\n")
        assert ws.read_until(b"text\n") == b"text\n"
        ws.send(0x9, b"hb")
        assert ws.frame() == (0xA, b"hb")
        # close: the status comes back and the connection ends
        ws.send(0x8, struct.pack(">H", 1000))
        assert ws.frame() == (0x8, struct.pack(">H", 1000))
        assert ws.frame() is None
        ws.close()
        # the container lives on
        assert daemon.json("GET", "/containers/%s/json" % cid)["State"]["Running"]
    finally:
        daemon.docker("rm", "-f", cid)


def test_ws_attach_logs_and_versions(daemon, image):
    cid = daemon.docker("run", "-d", "--network", "none", image, "sh", "-c",
                        "echo one; echo two >&2; exec sleep 1000").out.strip()
    try:
        deadline = time.time() + 10
        while "two" not in daemon.docker("logs", cid).err and time.time() < deadline:
            time.sleep(0.05)
        # raw (not multiplexed) output of both streams, then the end
        ws = WS(daemon.sock, "/v1.47/containers/%s/attach/ws?logs=1&stream=0&stdout=1&stderr=1" % cid)
        frames = []
        while True:
            f = ws.frame()
            if f is None:
                break
            frames.append(f)
        assert all(op == 2 for op, _ in frames)
        assert b"".join(p for _, p in frames) == b"one\ntwo\n"
        # 1.42 and later attach only what is asked for
        ws = WS(daemon.sock, "/v1.47/containers/%s/attach/ws?logs=1&stream=0&stderr=1" % cid)
        assert b"".join(f[1] for f in iter(ws.frame, None)) == b"two\n"
        # before 1.42 every stream, whatever the query
        ws = WS(daemon.sock, "/v1.41/containers/%s/attach/ws?logs=1&stream=0&stderr=1" % cid)
        assert b"".join(f[1] for f in iter(ws.frame, None)) == b"one\ntwo\n"
        # before 1.28 text frames
        ws = WS(daemon.sock, "/v1.27/containers/%s/attach/ws?logs=1&stream=0" % cid)
        assert {f[0] for f in iter(ws.frame, None)} == {1}
    finally:
        daemon.docker("rm", "-f", cid)


def test_ws_attach_needs_the_handshake(daemon, image):
    cid = daemon.docker("create", "--network", "none", image, "true").out.strip()
    try:
        status, _, data = daemon.request("GET", "/containers/%s/attach/ws" % cid)
        assert status == 400, data
        status, _, _ = daemon.request("GET", "/containers/nope/attach/ws")
        assert status == 404
    finally:
        daemon.docker("rm", "-f", cid)

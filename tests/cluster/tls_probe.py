"""A TLS client for the swarm port, run inside a lab host's namespace by
test_tls.py: connects to ADDR with an optional client certificate, sends
one node RPC request (or a raft handshake) and prints what happened as
JSON: whether the handshake completed, the protocol, the answer if any,
and whether the server closed the connection instead.

    tls_probe.py ADDR [--cert C --key K] (--rpc JSON | --raft)"""

import argparse
import json
import socket
import ssl
import struct
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("addr")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--rpc")
    p.add_argument("--raft", action="store_true")
    a = p.parse_args()
    host, port = a.addr.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the probe pins nothing: it tests the server's side
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    out = {"handshake": False, "answer": None, "closed": False}
    raw = socket.create_connection((host, int(port)), timeout=5)
    try:
        s = ctx.wrap_socket(raw)
        out["handshake"] = True
        out["version"] = s.version()
        if a.raft:
            addr = b"10.77.0.250:2377"
            padded = (len(addr) + 1 + 7) // 8 * 8
            s.sendall(struct.pack("<QQQ", 1, 12345, padded) + addr.ljust(padded, b"\0"))
        else:
            body = a.rpc.encode()
            s.sendall(b"BERTHRPC" + struct.pack(">I", len(body)) + body)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ssl.SSLError, ConnectionResetError, socket.timeout) as exc:
                out["error"] = str(exc)
                out["closed"] = not isinstance(exc, socket.timeout)
                break
            if not chunk:
                out["closed"] = True
                break
            data += chunk
            if len(data) >= 4 and len(data) >= 4 + struct.unpack(">I", data[:4])[0]:
                out["answer"] = json.loads(data[4:4 + struct.unpack(">I", data[:4])[0]])
                break
    except (ssl.SSLError, ConnectionResetError) as exc:
        out["error"] = str(exc)
        out["closed"] = True
    finally:
        raw.close()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

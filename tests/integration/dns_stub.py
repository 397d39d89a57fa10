"""A tiny DNS server for tests (there is no internet here): answers A
queries for the names given as NAME=ADDRESS arguments, NXDOMAIN for the
rest.  Usage: dns_stub.py BIND_ADDRESS NAME=ADDRESS...  Prints "ready"
once bound."""

import socket
import struct
import sys


def qname(msg, off):
    labels = []
    while msg[off]:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode())
        off += 1 + n
    return ".".join(labels).lower(), off + 1


def main():
    addr = sys.argv[1]
    names = dict(a.split("=", 1) for a in sys.argv[2:])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    print("ready", flush=True)
    while True:
        msg, peer = s.recvfrom(4096)
        if len(msg) < 12:
            continue
        qid, flags, qd = struct.unpack("!HHH", msg[:6])
        name, end = qname(msg, 12)
        qtype, = struct.unpack("!H", msg[end:end + 2])
        question = msg[12:end + 4]
        ip = names.get(name)
        if ip and qtype == 1:
            answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(ip)
            head = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100), 1, 1, 0, 0)
        else:
            answer = b""
            head = struct.pack("!HHHHHH", qid, 0x8183 | (flags & 0x0100) if not ip else 0x8180, 1, 0, 0, 0)
        s.sendto(head + question + answer, peer)


if __name__ == "__main__":
    main()

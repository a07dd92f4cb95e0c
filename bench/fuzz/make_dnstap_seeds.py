"""Writes bench/fuzz/seeds/dnstap/: Frame Streams sessions carrying dnstap messages, encoded by hand
(protobuf's wire format: a tag, then a varint, 4 bytes or a length and bytes)."""
import struct
import sys


def varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field(number, kind, value):
    tag = varint(number << 3 | kind)
    if kind == 0:
        return tag + varint(value)
    if kind == 5:
        return tag + struct.pack("<I", value)
    return tag + varint(len(value)) + value


def dns(qid, response, rcode=0):
    header = struct.pack(">HHHHHH", qid, 0x8180 | rcode if response else 0x0100, 1, 0, 0, 0)
    name = b"".join(bytes([len(label)]) + label for label in [b"a", b"example", b"test"]) + b"\0"
    return header + name + b"\0\1\0\1"


def message(kind, qid, response):
    body = field(1, 0, kind) + field(2, 0, 1) + field(3, 0, 1)
    body += field(4, 2, bytes([10, 0, 0, 2])) + field(5, 2, bytes([10, 0, 0, 53]))
    body += field(6, 0, 40000) + field(7, 0, 53) + field(8, 0, 1700000000) + field(9, 5, 5)
    if response:
        body += field(12, 0, 1700000000) + field(13, 5, 40000005) + field(14, 2, dns(qid, True))
    else:
        body += field(10, 2, dns(qid, False))
    return field(15, 0, 1) + field(14, 2, body)


def control(kind, content_type=True):
    body = struct.pack(">I", kind)
    if content_type:
        ct = b"protobuf:dnstap.Dnstap"
        body += struct.pack(">II", 1, len(ct)) + ct
    return struct.pack(">II", 0, len(body)) + body


def data(payload):
    return struct.pack(">I", len(payload)) + payload


def main():
    frames = [message(5, 7, False), message(7, 900, False), message(8, 900, True), message(6, 7, True)]
    seeds = {
        "bidirectional": control(4) + control(2) + b"".join(map(data, frames)) + control(3, False),
        "unidirectional": control(2) + b"".join(map(data, frames[3:])) + control(3, False),
        "message-only": frames[0],
    }
    for name, seed in seeds.items():
        with open(f"{sys.argv[1]}/{name}", "wb") as out:
            out.write(seed)


if __name__ == "__main__":
    main()

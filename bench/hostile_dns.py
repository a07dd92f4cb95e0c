#!/usr/bin/env python3
"""Hostile DNS for a DNS server on SERVER:53, shared by ReliabilityTests and bench/soak.py.

  hostile_dns.py SERVER udp          malformed UDP queries, one after the other
  hostile_dns.py SERVER tcp CASE     one TCP connection: split | shortLength | twoInOneSegment |
                                     garbage | normal; prints the ids of the answers it reads

Ids are fixed (0x10xx over UDP, 0x5xxx over TCP) so the tests can find the records.
"""
import socket
import struct
import sys
import time


def header(ident, qdcount=1):
    return struct.pack('>HHHHHH', ident, 0x0100, qdcount, 0, 0, 0)


def question(name):
    return b''.join(bytes([len(label)]) + label.encode() for label in name.split('.')) + b'\x00\x00\x01\x00\x01'


QUESTION = question('a.example.test')

# What each UDP packet is, in the order sent.
UDP = [
    header(0x1000)[:5],                                                   # header cut short
    header(0x1001, 0) + QUESTION, header(0x1002, 65535) + QUESTION,       # qdcount 0 and 65535
    header(0x1003) + b'\x40' + b'x' * 64 + b'\x00\x00\x01\x00\x01',        # label of 64
    header(0x1004) + (b'\x3f' + b'x' * 63) * 5 + b'\x00\x00\x01\x00\x01',  # 320-byte name
    header(0x1005) + b'\xc0\x0c\x00\x01\x00\x01',                          # compression pointer
    header(0x1006) + b'\x01a\xc0\x0c\x00\x01\x00\x01',                     # pointer loop back to the question
    b'GET / HTTP/1.1\r\nHost: x\r\n\r\n',                                  # not DNS at all
]


def udp(server):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    for packet in UDP:
        s.sendto(packet, (server, 53))
        try:
            s.recvfrom(4096)
        except socket.timeout:
            pass


def framed(ident, name):
    message = header(ident) + question(name)
    return struct.pack('>H', len(message)) + message


def read_answer(connection):
    def exactly(n):
        data = b''
        while len(data) < n:
            chunk = connection.recv(n - len(data))
            if not chunk:
                raise EOFError('connection closed')
            data += chunk
        return data
    message = exactly(struct.unpack('>H', exactly(2))[0])
    print(hex(message[0] << 8 | message[1]))


def tcp(server, case):
    c = socket.create_connection((server, 53), timeout=3)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one send, one segment
    if case == 'split':  # the 2-byte length alone, the message 300 ms later
        f = framed(0x5101, 'a.example.test')
        c.send(f[:2])
        time.sleep(0.3)
        c.send(f[2:])
        read_answer(c)
    elif case == 'shortLength':  # a length of 5: shorter than a DNS header
        c.send(b'\x00\x05\x52\x01\x01\x00\x00')
        time.sleep(0.3)
    elif case == 'twoInOneSegment':
        c.send(framed(0x5301, 'a.example.test') + framed(0x5302, 'b.example.test'))
        read_answer(c)
        read_answer(c)
    elif case == 'garbage':  # an HTTP request to port 53
        c.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        time.sleep(0.3)
    elif case == 'normal':  # one message in one segment, as dig +tcp sends it
        c.send(framed(0x5501, 'a.example.test'))
        read_answer(c)
    else:
        raise SystemExit(f'unknown case {case}')
    c.close()


if __name__ == '__main__':
    if len(sys.argv) >= 3 and sys.argv[2] == 'udp':
        udp(sys.argv[1])
    elif len(sys.argv) == 4 and sys.argv[2] == 'tcp':
        tcp(sys.argv[1], sys.argv[3])
    else:
        raise SystemExit(__doc__)

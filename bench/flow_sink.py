#!/usr/bin/env python3
"""A stand-in for a collector on another machine: answers every `POST /api/v1/flows` with 200 at
once and keeps only counts, so that a benchmark's unlimited-rate case charges the node with the
agent's cost alone (in a cluster the collector is a Deployment, not on every node). The counts are
byte counts over the JSON (records, records with a latency), read back with `GET /stats`.

usage: flow_sink.py PORT
"""
import asyncio
import json
import sys

stats = {"requests": 0, "records": 0, "records_with_latency": 0}  # latency: a transaction's, not its stages' 


async def body_of(reader, head):
    fields = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                return b"".join(parts)
    return await reader.readexactly(int(fields.get(b"content-length", b"0")))


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            body = await body_of(reader, head)
            if head.startswith(b"GET /stats"):
                answer = json.dumps(stats).encode()
            else:
                stats["requests"] += 1
                stats["records"] += body.count(b'"NodeName"')
                stats["records_with_latency"] += body.count(b'"DnsLatencyMs"')
                answer = b'{"stored":0}'
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(answer), answer))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(serve, "127.0.0.1", port, limit=1 << 20)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

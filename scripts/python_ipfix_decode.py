#!/usr/bin/env python3
"""Decode an IPFIX message stream with python-ipfix (pip install ipfix) and print JSON.

An independent decoder for dnsflow's tests: one JSON object per data record, keyed by IE name,
with addresses as text, timestamps as epoch milliseconds and octet arrays as lists of integers.

usage: python_ipfix_decode.py FILE [ENTERPRISE_ID]
"""
import datetime
import ipaddress
import json
import sys

import ipfix.ie
import ipfix.reader

EPOCH = datetime.datetime(1970, 1, 1)


def register(pen):
    ipfix.ie.use_iana_default()
    specs = [
        "certDnsId(6871/226)<unsigned16>[2]",
        f"dnsflowDnsId({pen}/1)<unsigned16>[2]",
        f"dnsflowDnsFlags({pen}/2)<unsigned16>[2]",
        f"dnsflowDnsRcode({pen}/3)<unsigned8>[1]",
        f"dnsflowDnsLatencyNanoseconds({pen}/4)<unsigned64>[8]",
        f"dnsflowDnsQType({pen}/5)<unsigned16>[2]",
        f"dnsflowDnsErrno({pen}/6)<unsigned8>[1]",
        f"dnsflowDnsName({pen}/7)<string>[65535]",
        f"dnsflowNetNs({pen}/8)<unsigned32>[4]",
        f"dnsflowNodeName({pen}/9)<string>[65535]",
        f"dnsflowIfDirections({pen}/10)<octetArray>[65535]",
    ]
    for spec in specs:
        ipfix.ie.for_spec(spec)


def plain(value):
    if isinstance(value, datetime.datetime):
        return round((value.replace(tzinfo=None) - EPOCH).total_seconds() * 1000)
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    return value


def main():
    register(int(sys.argv[2]) if len(sys.argv) > 2 else 32473)
    with open(sys.argv[1], "rb") as stream:
        records = [
            {name: plain(value) for name, value in record.items()}
            for record in ipfix.reader.from_stream(stream).namedict_iterator()
        ]
    json.dump(records, sys.stdout, indent=1)


if __name__ == "__main__":
    main()

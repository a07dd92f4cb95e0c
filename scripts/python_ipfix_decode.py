#!/usr/bin/env python3
"""Decode an IPFIX message stream with python-ipfix (pip install ipfix) and print JSON.

An independent decoder for dnsflow's tests: one JSON object per data record, keyed by IE name,
with addresses as text, timestamps as epoch milliseconds and octet arrays as lists of integers.
An element that occurs again in a template (three basicLists in a transaction's) is keyed
NAME#2, NAME#3. python-ipfix has no RFC 6313 list types, so basicList and subTemplateList come
out as their octets.

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
        f"dnsflowRecordType({pen}/11)<unsigned8>[1]",
        f"dnsflowNetNsName({pen}/12)<string>[65535]",
        f"dnsflowDnsRetransmits({pen}/13)<unsigned16>[2]",
        f"dnsflowDnsTtl({pen}/14)<unsigned32>[4]",
        f"dnsflowDnsAnswerIPv4Address({pen}/15)<ipv4Address>[4]",
        f"dnsflowDnsAnswerIPv6Address({pen}/16)<ipv6Address>[16]",
        f"dnsflowDnsCname({pen}/17)<string>[65535]",
        f"dnsflowPid({pen}/18)<unsigned32>[4]",
        f"dnsflowComm({pen}/19)<string>[65535]",
        f"dnsflowCgroupId({pen}/20)<unsigned64>[8]",
        f"dnsflowContainerId({pen}/21)<string>[65535]",
        f"dnsflowPodUid({pen}/22)<string>[65535]",
        f"dnsflowDstDnsName({pen}/23)<string>[65535]",
        f"dnsflowDnsCacheHit({pen}/24)<unsigned8>[1]",
        f"dnsflowDnsServerSource({pen}/25)<unsigned8>[1]",
        f"dnsflowSrcK8SName({pen}/26)<string>[65535]",
        f"dnsflowSrcK8SNamespace({pen}/27)<string>[65535]",
        f"dnsflowSrcK8SType({pen}/28)<string>[65535]",
        f"dnsflowSrcK8SOwnerName({pen}/29)<string>[65535]",
        f"dnsflowSrcK8SOwnerType({pen}/30)<string>[65535]",
        f"dnsflowSrcK8SHostName({pen}/31)<string>[65535]",
        f"dnsflowDstK8SName({pen}/32)<string>[65535]",
        f"dnsflowDstK8SNamespace({pen}/33)<string>[65535]",
        f"dnsflowDstK8SType({pen}/34)<string>[65535]",
        f"dnsflowDstK8SOwnerName({pen}/35)<string>[65535]",
        f"dnsflowDstK8SOwnerType({pen}/36)<string>[65535]",
        f"dnsflowDstK8SHostName({pen}/37)<string>[65535]",
        f"dnsflowXlatDstK8SName({pen}/38)<string>[65535]",
        f"dnsflowXlatDstK8SNamespace({pen}/39)<string>[65535]",
        "basicList(291)<octetArray>[65535]",
        "subTemplateList(292)<octetArray>[65535]",
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


def named_values(tmpl, buf, offset, recinf=None):
    """A record as a dict by IE name, as namedict does, but keeping every repeated element."""
    values, offset = tmpl.decode_from(buf, offset)
    record = {}
    for ie, value in zip(tmpl.ies, values):
        key, occurrence = ie.name, 2
        while key in record:
            key, occurrence = f"{ie.name}#{occurrence}", occurrence + 1
        record[key] = plain(value)
    return record, offset


def main():
    register(int(sys.argv[2]) if len(sys.argv) > 2 else 32473)
    records = []
    with open(sys.argv[1], "rb") as stream:
        reader = ipfix.reader.from_stream(stream)
        try:
            while True:
                reader.msg.read_message(stream)
                records += reader.msg.record_iterator(decode_fn=named_values)
        except EOFError:
            pass
    json.dump(records, sys.stdout, indent=1)


if __name__ == "__main__":
    main()

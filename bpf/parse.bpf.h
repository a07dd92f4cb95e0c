/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* IPv4/IPv6 with UDP or TCP, parsed into a struct packet: the flow key, the offsets, and at the
 * tracepoints the first bytes of the packet, read at once. */
#ifndef __DNSFLOW_PARSE_BPF_H
#define __DNSFLOW_PARSE_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "dnsflow.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define PROTO_TCP 6
#define PROTO_UDP 17
#define NO_HEADER 0xffff /* skb->*_header when unset */
#define MAX_IPV6_EXT_HEADERS 6
/* Bytes read at once from the IP header at the tracepoints: an IPv6 header, a UDP header and a
 * DNS header, or IPv4/IPv6 with a TCP header. One read instead of three; the skb's head buffer
 * always extends past them (skb_shared_info follows), so the read never faults. */
#define HEAD_BYTES 64

/* Where a packet is read from: a kernel address at the tracepoints, the skb at cgroup_skb.
 * Always a compile-time constant, so each program keeps only its own branch. */
enum reader {
	READ_KERNEL,
	READ_SKB,
};

struct dns_header {
	__u16 id;
	__u16 flags;
	__u16 qdcount;
	__u16 ancount;
	__u16 nscount;
	__u16 arcount;
};

struct packet {
	struct flow_key key;
	const void *ctx; /* ip header address (READ_KERNEL) or struct __sk_buff * (READ_SKB) */
	__u32 l4_off;	 /* transport header, from the IP header */
	__u32 payload_off;
	__u32 payload_len;
	__u32 ip_len;
	__u32 linear_len; /* READ_KERNEL, DNS only: bytes from the IP header in the skb's linear data */
	__u32 fragment_id; /* IPv4 id or IPv6 fragment header id */
	__u16 tcp_flags;
	__u8 fragment;	     /* a non-first fragment: no transport header */
	__u8 more_fragments; /* MF set: a first fragment when fragment is 0 */
	__u8 has_dns_header; /* dns_header was read with the IP header (UDP, no options) */
	struct dns_header dns_header;
	__u8 head[HEAD_BYTES]; /* READ_KERNEL: the first bytes from the IP header */
};

static __always_inline int load(const struct packet *p, enum reader r, __u32 off, void *dst,
				__u32 len)
{
	if (r == READ_SKB)
		return bpf_skb_load_bytes((void *)p->ctx, off, dst, len);
	return bpf_probe_read_kernel(dst, len, p->ctx + off);
}

struct ipv4_header {
	__u8 version_ihl;
	__u8 tos;
	__u16 total_len;
	__u16 id;
	__u16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__u8 saddr[4];
	__u8 daddr[4];
};

struct ipv6_header {
	__u32 version_flow;
	__u16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

static __always_inline void map_v4(__u8 *dst, const __u8 *v4)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, v4, 4);
}

/* Fills the flow key and the offsets; returns 0 if the packet is IP. */
static __always_inline int parse_ip(struct packet *p, enum reader r, __u16 eth_type)
{
	__u8 proto;
	__u32 off;

	/* At the tracepoints one read brings the IP header and, without options or extension
	 * headers, the transport and DNS headers: the fixed offsets below are read from it. */
	if (r == READ_KERNEL && bpf_probe_read_kernel(p->head, HEAD_BYTES, p->ctx))
		return -1;
	if (eth_type == ETH_P_IP) {
		struct ipv4_header ip;

		if (r == READ_KERNEL)
			__builtin_memcpy(&ip, p->head, sizeof(ip));
		else if (load(p, r, 0, &ip, sizeof(ip)))
			return -1;
		map_v4(p->key.src_addr, ip.saddr);
		map_v4(p->key.dst_addr, ip.daddr);
		proto = ip.protocol;
		off = (ip.version_ihl & 0x0f) * 4;
		p->ip_len = bpf_ntohs(ip.total_len);
		p->fragment = (bpf_ntohs(ip.frag_off) & 0x1fff) != 0;
		p->more_fragments = (bpf_ntohs(ip.frag_off) & 0x2000) != 0;
		p->fragment_id = bpf_ntohs(ip.id);
	} else if (eth_type == ETH_P_IPV6) {
		struct ipv6_header ip;

		if (r == READ_KERNEL)
			__builtin_memcpy(&ip, p->head, sizeof(ip));
		else if (load(p, r, 0, &ip, sizeof(ip)))
			return -1;
		__builtin_memcpy(p->key.src_addr, ip.saddr, 16);
		__builtin_memcpy(p->key.dst_addr, ip.daddr, 16);
		proto = ip.nexthdr;
		off = sizeof(ip);
		p->ip_len = bpf_ntohs(ip.payload_len) + sizeof(ip);
		/* Skip extension headers to reach the transport header (RFC 8200 4.1). */
		for (int i = 0; i < MAX_IPV6_EXT_HEADERS; i++) {
			__u8 ext[8];

			if (proto != 0 && proto != 43 && proto != 44 && proto != 51 && proto != 60)
				break;
			if (load(p, r, off, ext, sizeof(ext)))
				return -1;
			if (proto == 44) { /* fragment header: fixed 8 bytes */
				p->fragment = (bpf_ntohs(*(__u16 *)&ext[2]) & 0xfff8) != 0;
				p->more_fragments = ext[3] & 0x01;
				p->fragment_id = bpf_ntohl(*(__u32 *)&ext[4]);
				off += 8;
			} else if (proto == 51) { /* AH counts 4-byte words, minus 2 */
				off += (ext[1] + 2) * 4;
			} else {
				off += (ext[1] + 1) * 8;
			}
			proto = ext[0];
		}
	} else {
		return -1;
	}
	p->key.eth_type = eth_type;
	p->key.proto = proto;
	p->l4_off = off;
	p->payload_off = off;
	if (p->fragment)
		return 0;

	/* The common layouts: no IPv4 options, no IPv6 extension headers. */
	int v4_plain = eth_type == ETH_P_IP && off == 20;
	int v6_plain = eth_type == ETH_P_IPV6 && off == 40;

	if (proto == PROTO_TCP) {
		__u8 tcp[14];

		if (r == READ_KERNEL && v4_plain)
			__builtin_memcpy(tcp, p->head + 20, sizeof(tcp));
		else if (r == READ_KERNEL && v6_plain)
			__builtin_memcpy(tcp, p->head + 40, sizeof(tcp));
		else if (load(p, r, off, tcp, sizeof(tcp)))
			return -1;
		p->key.src_port = (tcp[0] << 8) | tcp[1];
		p->key.dst_port = (tcp[2] << 8) | tcp[3];
		p->tcp_flags = tcp[13] | ((tcp[12] & 0x01) << 8);
		p->payload_off = off + (tcp[12] >> 4) * 4;
	} else if (proto == PROTO_UDP) {
		__u8 udp[4];

		if (r == READ_KERNEL && v4_plain) {
			__builtin_memcpy(udp, p->head + 20, sizeof(udp));
			__builtin_memcpy(&p->dns_header, p->head + 28, sizeof(p->dns_header));
			p->has_dns_header = 1;
		} else if (r == READ_KERNEL && v6_plain) {
			__builtin_memcpy(udp, p->head + 40, sizeof(udp));
			__builtin_memcpy(&p->dns_header, p->head + 48, sizeof(p->dns_header));
			p->has_dns_header = 1;
		} else if (load(p, r, off, udp, sizeof(udp))) {
			return -1;
		}
		p->key.src_port = (udp[0] << 8) | udp[1];
		p->key.dst_port = (udp[2] << 8) | udp[3];
		p->payload_off = off + 8;
	}
	p->payload_len = p->ip_len > p->payload_off ? p->ip_len - p->payload_off : 0;
	return 0;
}

#endif /* __DNSFLOW_PARSE_BPF_H */

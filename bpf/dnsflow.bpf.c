// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* dnsflow: network flows from every interface of every namespace, enriched with DNS.
 *
 * Flows: the net_dev_queue (egress) and netif_receive_skb (ingress) tracepoints see every packet
 * of every device, veths that appear later included, without attaching to any of them.
 * DNS over UDP is read there too. DNS over TCP is read by cgroup_skb programs on the cgroup v2
 * root: at the tracepoints a TCP segment's payload sits in page frags, out of reach of a read
 * from the linear area, and this needs neither fentry nor kprobes.
 *
 * Drops (PacketDrop): tp_btf/kfree_skb, with the reason it takes since Linux 5.17.
 *
 * This file holds the entry points; a packet goes through parse.bpf.h, flow.bpf.h and dns.bpf.h,
 * and every map is in maps.bpf.h. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "kernel.bpf.h"
#include "dnsflow.h"
#include "maps.bpf.h"
#include "parse.bpf.h"
#include "flow.bpf.h"
#include "dns.bpf.h"
#include "drops.bpf.h"

/* Reads through a kernel pointer: a plain load at tp_btf, where the verifier knows the pointer's
 * type (no helper call); a CO-RE probe read at the classic tracepoints. btf is a constant, so
 * each program keeps one branch. */
#define KREAD(btf, src, a) ((btf) ? (src)->a : BPF_CORE_READ(src, a))

/* The one handler behind every tracepoint flavour. */
static __always_inline int handle_skb(struct sk_buff *skb, __u8 direction, int btf, int atomics)
{
	struct packet p = {};
	struct sighting s = {};
	__u16 eth_type = bpf_ntohs(KREAD(btf, skb, protocol));

	count(DNSFLOW_CTR_PACKETS);
	if (eth_type != ETH_P_IP && eth_type != ETH_P_IPV6) {
		count(DNSFLOW_CTR_NOT_IP);
		return 0;
	}
	if (direction == DNSFLOW_EGRESS) {
		__u16 nh = KREAD(btf, skb, network_header);

		if (nh == NO_HEADER) {
			count(DNSFLOW_CTR_TRUNCATED_HEADER);
			return 0;
		}
		p.ctx = KREAD(btf, skb, head) + nh;
	} else {
		/* netif_receive_skb fires before the network header offset is reset; the link
		 * layer header has been pulled, so data is the IP header. */
		p.ctx = KREAD(btf, skb, data);
	}
	if (parse_ip(&p, READ_KERNEL, eth_type)) {
		count(DNSFLOW_CTR_TRUNCATED_HEADER);
		return 0;
	}

	int dns = is_dns(&p);

	if (dns_tracking && (p.fragment || (dns && p.more_fragments)))
		note_dns_fragment(&p, dns);

	/* Sampling thins flow accounting only: DNS is always tracked, so latency and timeouts
	 * stay complete. */
	if (!dns && sampling > 1 && bpf_get_prandom_u32() % sampling)
		return 0;

	struct net_device *dev = KREAD(btf, skb, dev);

	s.dev = dev;
	s.now = bpf_ktime_get_ns();
	s.btf = btf;
	s.ifindex = KREAD(btf, dev, ifindex);
	s.netns = btf ? dev->nd_net.net->ns.inum : BPF_CORE_READ(dev, nd_net.net, ns.inum);
	s.direction = direction;
	account_flow(&p, &s);
	/* TCP payloads are not linear here; cgroup_skb reads those. */
	if (dns && p.key.proto == PROTO_UDP) {
		/* The linear data from the IP header: from data, whose offset in head is the mac
		 * header's at egress (__dev_queue_xmit resets it) and the IP header's at ingress.
		 * Offsets, not pointers: the verifier refuses arithmetic on skb->data here. */
		__u32 linear = KREAD(btf, skb, len) - KREAD(btf, skb, data_len);
		struct sock *sk = KREAD(btf, skb, sk);

		if (direction == DNSFLOW_EGRESS)
			linear += KREAD(btf, skb, mac_header) - KREAD(btf, skb, network_header);
		p.linear_len = linear;

		/* A forwarded packet has no socket; a received one's is not the sender's. */
		if (direction == DNSFLOW_EGRESS && sk) {
			s.local_socket = 1;
			s.socket_cgroup = sock_cgroup_id(sk);
		}
		track_dns(&p, READ_KERNEL, &s, atomics);
	}
	return 0;
}

/* Each program comes in two builds: with atomics (the pending-query slots), and *_hash for
 * kernels before 5.12. User space loads one build of one tracepoint flavour. */
#define TRACEPOINT_PROGRAMS(suffix, atomics)                                         \
	SEC("tp_btf/net_dev_queue")                                                  \
	int BPF_PROG(dnsflow_egress_btf##suffix, struct sk_buff *skb)                \
	{                                                                            \
		return handle_skb(skb, DNSFLOW_EGRESS, 1, atomics);                  \
	}                                                                            \
	SEC("tp_btf/netif_receive_skb")                                              \
	int BPF_PROG(dnsflow_ingress_btf##suffix, struct sk_buff *skb)               \
	{                                                                            \
		return handle_skb(skb, DNSFLOW_INGRESS, 1, atomics);                 \
	}                                                                            \
	SEC("tracepoint/net/net_dev_queue")                                          \
	int dnsflow_egress_tp##suffix(struct trace_event_raw_net_dev_template *ctx)  \
	{                                                                            \
		return handle_skb(ctx->skbaddr, DNSFLOW_EGRESS, 0, atomics);         \
	}                                                                            \
	SEC("tracepoint/net/netif_receive_skb")                                      \
	int dnsflow_ingress_tp##suffix(struct trace_event_raw_net_dev_template *ctx) \
	{                                                                            \
		return handle_skb(ctx->skbaddr, DNSFLOW_INGRESS, 0, atomics);        \
	}

TRACEPOINT_PROGRAMS(, 1)
TRACEPOINT_PROGRAMS(_hash, 0)

/* DNS over TCP, for the local sockets of every namespace. Always lets the packet through. */
static __always_inline void handle_cgroup_skb(struct __sk_buff *skb, __u8 direction, int atomics)
{
	__u16 eth_type = bpf_ntohs(skb->protocol);
	struct bpf_sock *sk = skb->sk;

	/* This runs for every packet of every local socket: leave on the socket's own ports, before
	 * a helper call or a byte of the packet, so that only DNS pays for DNS. Not counted: it is
	 * nearly every packet, and the tracepoints count those. */
	if (!dns_tracking || !sk)
		return;
	if (!is_dns_port(sk->src_port) && !is_dns_port(bpf_ntohs(sk->dst_port)))
		return;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);

	if (!tp || (eth_type != ETH_P_IP && eth_type != ETH_P_IPV6))
		return;
	struct packet p = { .ctx = skb };
	struct sighting s = {};

	if (parse_ip(&p, READ_SKB, eth_type) || p.key.proto != PROTO_TCP || !is_dns(&p))
		return;
	s.netns = BPF_CORE_READ((struct sock *)tp, __sk_common.skc_net.net, ns.inum);
	s.now = bpf_ktime_get_ns();
	s.ifindex = skb->ifindex;
	s.direction = direction;
	if (direction == DNSFLOW_EGRESS) {
		s.local_socket = 1;
		s.socket_cgroup = bpf_skb_cgroup_id(skb);
	}
	/* cgroup_skb has no device to name; the tracepoints saw this flow on it already (ingress
	 * runs after netif_receive_skb; egress after the handshake's first packets). */
	struct flow_stats *st = bpf_map_lookup_elem(&flows, &p.key);

	if (st) {
		for (int i = 0; i < DNSFLOW_MAX_OBSERVATIONS; i++) {
			if (st->observations[i].netns == s.netns &&
			    st->observations[i].ifindex == s.ifindex) {
				s.name = st->observations[i].ifname;
				break;
			}
		}
	}
	track_dns(&p, READ_SKB, &s, atomics);
}

#define CGROUP_PROGRAMS(suffix, atomics)                          \
	SEC("cgroup_skb/egress")                                  \
	int dnsflow_tcp_egress##suffix(struct __sk_buff *skb)     \
	{                                                         \
		handle_cgroup_skb(skb, DNSFLOW_EGRESS, atomics);  \
		return 1;                                         \
	}                                                         \
	SEC("cgroup_skb/ingress")                                 \
	int dnsflow_tcp_ingress##suffix(struct __sk_buff *skb)    \
	{                                                         \
		handle_cgroup_skb(skb, DNSFLOW_INGRESS, atomics); \
		return 1;                                         \
	}

CGROUP_PROGRAMS(, 1)
CGROUP_PROGRAMS(_hash, 0)

/* Loaded only with PacketDrop on, and where the kernel's kfree_skb has its reason (5.17). */
SEC("tp_btf/kfree_skb")
int BPF_PROG(dnsflow_drop, struct sk_buff *skb, void *location, int reason)
{
	handle_drop(skb, reason);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

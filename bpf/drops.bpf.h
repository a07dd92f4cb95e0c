/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Packet drops (PacketDrop): kfree_skb fires for every packet the kernel drops, so every other drop
 * leaves after the cheapest tests (a field of the skb, then one read of its first bytes); a DNS
 * drop goes to user space through dns_drops with its reason and its transaction's key. */
#ifndef __DNSFLOW_DROPS_BPF_H
#define __DNSFLOW_DROPS_BPF_H

#include "dns.bpf.h"

/* The namespace of a dropped packet: its device's, else (a packet dropped before it had one, on
 * the way out) its socket's. 0 when it has neither. */
static __always_inline __u32 drop_netns(struct sk_buff *skb)
{
	struct net_device *dev = skb->dev;
	struct sock *sk;

	if (dev)
		return dev->nd_net.net->ns.inum;
	sk = skb->sk;
	return sk ? sk->__sk_common.skc_net.net->ns.inum : 0;
}

/* At tp_btf, where the verifier knows skb's type: its fields are plain loads. */
static __always_inline void handle_drop(struct sk_buff *skb, __u32 reason)
{
	struct packet p = {};
	__u16 eth_type = bpf_ntohs(skb->protocol);
	__u16 nh;

	if (eth_type != ETH_P_IP && eth_type != ETH_P_IPV6) {
		count(DNSFLOW_CTR_DROP_NOT_IP);
		return;
	}
	nh = skb->network_header;
	if (nh == NO_HEADER) {
		count(DNSFLOW_CTR_DROP_NO_HEADER);
		return;
	}
	p.ctx = skb->head + nh;
	if (parse_ip(&p, READ_KERNEL, eth_type)) {
		count(DNSFLOW_CTR_DROP_NO_HEADER);
		return;
	}
	if (p.fragment || !is_dns(&p)) {
		count(DNSFLOW_CTR_DROP_NOT_DNS);
		return;
	}

	struct dns_drop_event *e = bpf_ringbuf_reserve(&dns_drops, sizeof(*e), 0);

	if (!e) {
		count(DNSFLOW_CTR_DROP_RING_BUFFER_FULL);
		return;
	}
	struct dns_header h = p.dns_header;
	int has_id = p.key.proto == PROTO_UDP &&
		     (p.has_dns_header || !load(&p, READ_KERNEL, p.payload_off, &h, sizeof(h)));
	int response =
		has_id ? (bpf_ntohs(h.flags) & DNS_QR_RESPONSE) != 0 : is_dns_port(p.key.src_port);

	__builtin_memset(&e->key, 0, sizeof(e->key));
	fill_dns_key(&e->key, &p, response, drop_netns(skb), has_id ? bpf_ntohs(h.id) : 0);
	e->drop_ns = bpf_ktime_get_ns();
	e->reason = reason;
	e->response = response;
	e->has_id = has_id;
	e->pad[0] = e->pad[1] = 0;
	bpf_ringbuf_submit(e, 0);
}

#endif /* __DNSFLOW_DROPS_BPF_H */

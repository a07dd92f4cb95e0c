/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Flow accounting: a packet is counted once, on the first (namespace, interface, direction) that
 * saw its flow; the others it crosses are listed. */
#ifndef __DNSFLOW_FLOW_BPF_H
#define __DNSFLOW_FLOW_BPF_H

#include <bpf/bpf_core_read.h>
#include "kernel.bpf.h"
#include "maps.bpf.h"
#include "parse.bpf.h"

struct sighting {
	__u64 now; /* bpf_ktime_get_ns(), read once per packet */
	__u32 netns;
	__u32 ifindex;
	__u8 direction;
	__u8 btf;		/* dev is a BTF pointer (tp_btf): plain loads, no helper calls */
	__u8 local_socket;	/* egress from a local socket of this namespace */
	__u64 socket_cgroup;	/* its creator's cgroup v2 id; 0: unknown */
	struct net_device *dev; /* for the name, read only when needed */
	const char *name;	/* or the name itself, where there is no device (cgroup_skb) */
};

static __always_inline void read_ifname(const struct sighting *s, char *dst)
{
	struct net_device *dev = s->dev;

	if (dev && s->btf)
		__builtin_memcpy(dst, dev->name, DNSFLOW_IFNAMSIZ);
	else if (dev)
		bpf_core_read(dst, DNSFLOW_IFNAMSIZ, &dev->name);
	else if (s->name)
		__builtin_memcpy(dst, s->name, DNSFLOW_IFNAMSIZ);
}

static __always_inline int same_observation(const struct flow_observation *o,
					    const struct sighting *s)
{
	return o->netns == s->netns && o->ifindex == s->ifindex && o->direction == s->direction;
}

static __always_inline void account_flow(const struct packet *p, const struct sighting *s)
{
	__u64 now = s->now;
	struct flow_stats *st = bpf_map_lookup_elem(&flows, &p->key);

	if (st) {
		if (same_observation(&st->observations[0], s)) {
			__sync_fetch_and_add(&st->bytes, p->ip_len);
			__sync_fetch_and_add(&st->packets, 1);
			st->last_seen_ns = now;
			st->tcp_flags |= p->tcp_flags;
			return;
		}
		/* The same packet on another interface: list it, count it once. */
		for (int i = 1; i < DNSFLOW_MAX_OBSERVATIONS; i++) {
			if (i >= st->n_observations) {
				struct flow_observation *o = &st->observations[i];

				o->netns = s->netns;
				o->ifindex = s->ifindex;
				o->direction = s->direction;
				read_ifname(s, o->ifname);
				st->n_observations = i + 1;
				return;
			}
			if (same_observation(&st->observations[i], s))
				return;
		}
		return;
	}

	struct scratch *sc = scratch();

	if (!sc)
		return;
	struct flow_stats *fresh = &sc->flow;

	__builtin_memset(fresh, 0, sizeof(*fresh));
	fresh->bytes = p->ip_len;
	fresh->packets = 1;
	fresh->first_seen_ns = now;
	fresh->last_seen_ns = now;
	fresh->tcp_flags = p->tcp_flags;
	fresh->n_observations = 1;
	fresh->observations[0].netns = s->netns;
	fresh->observations[0].ifindex = s->ifindex;
	fresh->observations[0].direction = s->direction;
	read_ifname(s, fresh->observations[0].ifname);
	/* NOEXIST: another CPU may have created it meanwhile; its entry wins, this packet is lost
	 * to the counters only in that rare race. A full map drops the flow, never blocks. */
	long err = bpf_map_update_elem(&flows, &p->key, fresh, BPF_NOEXIST);

	if (err && err != -17 /* EEXIST */)
		count(DNSFLOW_CTR_FLOW_MAP_FULL);
}

#endif /* __DNSFLOW_FLOW_BPF_H */

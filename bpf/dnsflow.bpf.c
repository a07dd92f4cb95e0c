// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* dnsflow: network flows from every interface of every namespace, enriched with DNS.
 *
 * Flows: the net_dev_queue (egress) and netif_receive_skb (ingress) tracepoints see every packet
 * of every device, veths that appear later included, without attaching to any of them.
 * DNS over UDP is read there too. DNS over TCP is read by cgroup_skb programs on the cgroup v2
 * root: at the tracepoints a TCP segment's payload sits in page frags, out of reach of a read
 * from the linear area, and this needs neither fentry nor kprobes.
 *
 * Queries wait in dns_pending under {namespace, 5-tuple, DNS id}; the first sighting of the
 * response in the same namespace ends the wait and goes to user space through dns_events. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "kernel.bpf.h"
#include "dnsflow.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define PROTO_TCP 6
#define PROTO_UDP 17
#define DNS_HEADER_LEN 12
#define DNS_QR_RESPONSE 0x8000
#define NO_HEADER 0xffff /* skb->*_header when unset */
#define MAX_IPV6_EXT_HEADERS 6
#define DNS_EVENT_HEADER_LEN __builtin_offsetof(struct dns_event, question)
/* Bytes read at once from the IP header at the tracepoints: an IPv6 header, a UDP header and a
 * DNS header (60), or IPv4/IPv6 with a TCP header. One read instead of three; the skb's head
 * buffer always extends past them (skb_shared_info follows), so the read never faults. */
#define HEAD_BYTES 64

const volatile struct dnsflow_settings settings = {};

/* Sizes are placeholders: user space sets them from the config before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

/* Queries waiting for their response: a direct-mapped table indexed by a hash of their key, each
 * slot a cache line whose state word (free, busy, answered, or the query's timestamp) changes by
 * compare-and-swap. A query and its response then cost an inlined array lookup and one atomic
 * each, where a hash map's insert, lookup and delete (bucket lock, free list, chain walk) were
 * half of the programs' time. An answered slot keeps its key until a query reuses it, so that the
 * response seen again in the namespace (its other interface, a duplicate) is told from an orphan.
 * User space maps the table to find the queries that timed out. A query whose slot is held by
 * another waits in dns_queries instead (every query does in the *_hash build); the table is kept
 * small (user space caps it) so that its pages stay in the TLB. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct dns_pending);
} dns_pending SEC(".maps");

/* The rest of each waiting query, read only when it times out: kept out of the slot's line. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_query_detail);
} dns_pending_detail SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct dns_key);
	__type(value, struct dns_query);
} dns_queries SEC(".maps");

/* Keys of the responses paired through dns_queries, so that the same response seen again in the
 * namespace (its other interface, a duplicate) is told from an orphan: an answered slot keeps its
 * key, but a query that waited in the hash map (its slot held, or the *_hash build) has no slot.
 * Direct-mapped by the key's hash; a key is overwritten by the next that maps to its entry. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DNSFLOW_ANSWERED_SLOTS);
	__type(key, __u32);
	__type(value, struct dns_key);
} dns_answered SEC(".maps");

/* A non-first fragment has no transport header, so its ports are unknown: the first fragment of
 * a DNS message leaves its {addresses, IP id, protocol} here for the later ones to be counted. */
struct fragment_key {
	__u8 src_addr[16];
	__u8 dst_addr[16];
	__u32 id;
	__u8 proto;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DNSFLOW_MAX_DNS_FRAGMENTED);
	__type(key, struct fragment_key);
	__type(value, __u8);
} dns_fragmented SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} dns_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DNSFLOW_CTR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Values too large for the 512-byte stack are built here. */
struct scratch {
	struct flow_stats flow;
	struct dns_query query;
	struct dns_event event;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

static __always_inline void count(enum dnsflow_counter c)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);

	if (v)
		*v += 1; /* per-CPU: no atomics needed */
}

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
	__u32 fragment_id; /* IPv4 id or IPv6 fragment header id */
	__u16 tcp_flags;
	__u8 fragment;	     /* a non-first fragment: no transport header */
	__u8 more_fragments; /* MF set: a first fragment when fragment is 0 */
	__u8 has_dns_header; /* dns_header was read with the IP header (UDP, no options) */
	struct dns_header dns_header;
	__u8 head[HEAD_BYTES]; /* READ_KERNEL: the first bytes from the IP header */
};

static __always_inline int load(const struct packet *p, enum reader r, __u32 off, void *dst, __u32 len)
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

static __always_inline int is_dns_port(__u16 port)
{
	for (int i = 0; i < DNSFLOW_MAX_DNS_PORTS; i++) {
		if (i >= settings.dns_port_count)
			break;
		if (settings.dns_ports[i] == port)
			return 1;
	}
	return 0;
}

static __always_inline int is_dns(const struct packet *p)
{
	if (!settings.dns_tracking || (p->key.proto != PROTO_UDP && p->key.proto != PROTO_TCP))
		return 0;
	return is_dns_port(p->key.src_port) || is_dns_port(p->key.dst_port);
}

struct sighting {
	__u64 now; /* bpf_ktime_get_ns(), read once per packet */
	__u32 netns;
	__u32 ifindex;
	__u8 direction;
	__u8 btf;		/* dev is a BTF pointer (tp_btf): plain loads, no helper calls */
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

static __always_inline int same_observation(const struct flow_observation *o, const struct sighting *s)
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

	__u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch_space, &zero);

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

/* FNV-1a over the key's 32-bit words: its slot in dns_pending. */
static __always_inline __u32 dns_key_hash(const struct dns_key *key)
{
	const __u32 *words = (const __u32 *)key;
	__u32 hash = 2166136261u;

	for (int i = 0; i < sizeof(*key) / 4; i++) {
		hash ^= words[i];
		hash *= 16777619u;
	}
	return hash;
}

static __always_inline int same_dns_key(const struct dns_key *a, const struct dns_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	for (int i = 0; i < sizeof(*a) / 8; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

static __always_inline __u32 question_len(__u32 dns_len)
{
	__u32 len = dns_len - DNS_HEADER_LEN;

	if (len > DNSFLOW_MAX_QUESTION)
		len = DNSFLOW_MAX_QUESTION;
	barrier_var(len);
	return len;
}

/* atomics: a compile-time constant, 0 in the programs for kernels before 5.12 (no BPF
 * compare-and-swap), where every query waits in the dns_queries hash map instead of a slot. */
static __always_inline void track_dns(const struct packet *p, enum reader r, const struct sighting *s, int atomics)
{
	__u32 off = p->payload_off;
	__u32 dns_len = p->payload_len;
	struct dns_header h;

	if (p->key.proto == PROTO_TCP) {
		/* RFC 1035 4.2.2: a 2-byte length, then the message. Segments that carry no
		 * message start (ACKs, continuations) are not DNS headers. */
		__u16 msg_len;

		if (dns_len == 0)
			return;
		if (dns_len < 2 + DNS_HEADER_LEN || load(p, r, off, &msg_len, sizeof(msg_len)))
			goto short_message;
		msg_len = bpf_ntohs(msg_len);
		if (msg_len < DNS_HEADER_LEN)
			goto short_message;
		off += 2;
		dns_len -= 2;
		if (dns_len > msg_len)
			dns_len = msg_len;
	}
	if (dns_len < DNS_HEADER_LEN)
		goto short_message;
	if (p->has_dns_header)
		h = p->dns_header;
	else if (load(p, r, off, &h, sizeof(h)))
		goto short_message;
	if (bpf_ntohs(h.qdcount) != 1) {
		count(DNSFLOW_CTR_DNS_BAD_QDCOUNT);
		return;
	}

	__u16 flags = bpf_ntohs(h.flags);
	int response = flags & DNS_QR_RESPONSE;
	struct dns_key key = {};

	if (response) {
		__builtin_memcpy(key.client_addr, p->key.dst_addr, 16);
		__builtin_memcpy(key.server_addr, p->key.src_addr, 16);
		key.client_port = p->key.dst_port;
		key.server_port = p->key.src_port;
	} else {
		__builtin_memcpy(key.client_addr, p->key.src_addr, 16);
		__builtin_memcpy(key.server_addr, p->key.dst_addr, 16);
		key.client_port = p->key.src_port;
		key.server_port = p->key.dst_port;
	}
	key.netns = s->netns;
	key.id = bpf_ntohs(h.id);
	key.eth_type = p->key.eth_type;
	key.proto = p->key.proto;

	__u64 now = s->now;
	__u32 qlen = question_len(dns_len);
	__u32 hash = dns_key_hash(&key);
	__u32 pending_index = hash & settings.pending_slots_mask;
	struct dns_pending *waiting = bpf_map_lookup_elem(&dns_pending, &pending_index);

	if (!waiting)
		return;
	if (!response) {
		struct dns_query_detail *d = bpf_map_lookup_elem(&dns_pending_detail, &pending_index);
		struct dns_query *overflow = NULL;

		if (!d)
			return;
		/* Without atomics, as if held: to the hash map. A free or answered slot (most are, once
		 * used) is claimed by one compare-and-swap from the state read; a lost race leaves
		 * what won in `state`. */
		__u64 state = atomics ? waiting->state : DNSFLOW_SLOT_BUSY;
		int claimed = 0;

		if (atomics && (state == DNSFLOW_SLOT_FREE || state == DNSFLOW_SLOT_ANSWERED)) {
			__u64 seen = __sync_val_compare_and_swap(&waiting->state, state, DNSFLOW_SLOT_BUSY);

			claimed = seen == state;
			state = seen;
		}

		if (claimed) {
			waiting->key = key;
		} else if (state > DNSFLOW_SLOT_ANSWERED && same_dns_key(&waiting->key, &key)) {
			/* A retransmission, or the query crossing a second interface of this
			 * namespace: the clock is not restarted. */
			count(DNSFLOW_CTR_DNS_RETRANSMIT);
			return;
		} else {
			__u32 zero = 0;
			struct scratch *sc = bpf_map_lookup_elem(&scratch_space, &zero);

			if (!sc)
				return;
			overflow = &sc->query;
			overflow->query_ns = now;
			d = &overflow->detail;
		}
		d->ifindex = s->ifindex;
		d->flags = flags;
		d->bytes = dns_len;
		d->direction = s->direction;
		__builtin_memset(d->ifname, 0, sizeof(d->ifname));
		read_ifname(s, d->ifname);
		d->question_len = 0;
		if (qlen > 0 && !load(p, r, off + DNS_HEADER_LEN, d->question, qlen))
			d->question_len = qlen;
		if (!overflow) {
			/* Publishes the slot: the exchange orders the writes above before it. */
			asm volatile("" ::: "memory");
			__sync_lock_test_and_set(&waiting->state, now);
			return;
		}
		/* NOEXIST keeps a retransmission from restarting its clock here too. */
		long err = bpf_map_update_elem(&dns_queries, &key, overflow, BPF_NOEXIST);

		if (err == -17 /* EEXIST */)
			count(DNSFLOW_CTR_DNS_RETRANSMIT);
		else if (err)
			count(DNSFLOW_CTR_DNS_QUERY_MAP_FULL);
		return;
	}

	__u64 query_ns = 0;
	__u32 answered_index = hash & (DNSFLOW_ANSWERED_SLOTS - 1);
	struct dns_key *answered = bpf_map_lookup_elem(&dns_answered, &answered_index);
	__u64 state = waiting->state;
	int same_key = same_dns_key(&waiting->key, &key);
	struct dns_query *pending;

	/* The compare-and-swap ends the wait only if no one (user space expiring it, the same
	 * response on another CPU) took the slot since it was read. */
	if (atomics && state > DNSFLOW_SLOT_ANSWERED && same_key &&
	    __sync_val_compare_and_swap(&waiting->state, state, DNSFLOW_SLOT_ANSWERED) == state) {
		query_ns = state;
	} else if ((pending = bpf_map_lookup_elem(&dns_queries, &key))) {
		query_ns = pending->query_ns;
		bpf_map_delete_elem(&dns_queries, &key);
		if (answered)
			*answered = key;
	} else if ((state == DNSFLOW_SLOT_ANSWERED && same_key) || (answered && same_dns_key(answered, &key))) {
		count(DNSFLOW_CTR_DNS_DUPLICATE);
		return;
	} else {
		count(DNSFLOW_CTR_DNS_ORPHAN);
	}

	__u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch_space, &zero);

	if (!sc)
		return;
	struct dns_event *e = &sc->event;

	e->key = key;
	e->query_ns = query_ns;
	e->response_ns = now;
	e->ifindex = s->ifindex;
	e->flags = flags;
	e->bytes = dns_len;
	e->direction = s->direction;
	__builtin_memset(e->ifname, 0, sizeof(e->ifname));
	read_ifname(s, e->ifname);
	__u32 sent = 0;

	if (qlen > 0 && !load(p, r, off + DNS_HEADER_LEN, e->question, qlen))
		sent = qlen;
	e->question_len = sent;
	/* Only the question's bytes go out: most names are short, so the ring holds ~3x more. The
	 * reader is never woken: it polls, since a wakeup costs the packet path an interrupt (an
	 * APIC write, a VM exit on a virtual machine). */
	if (bpf_ringbuf_output(&dns_events, e, DNS_EVENT_HEADER_LEN + sent, BPF_RB_NO_WAKEUP))
		count(DNSFLOW_CTR_DNS_RINGBUF_FULL);
	return;

short_message:
	count(DNSFLOW_CTR_DNS_SHORT);
}

/* The first fragment of a DNS message is remembered; its later fragments, which have no ports
 * for is_dns to look at, are counted. */
static __always_inline void note_dns_fragment(const struct packet *p, int dns)
{
	struct fragment_key key = {};
	__u8 seen = 1;

	__builtin_memcpy(key.src_addr, p->key.src_addr, 16);
	__builtin_memcpy(key.dst_addr, p->key.dst_addr, 16);
	key.id = p->fragment_id;
	key.proto = p->key.proto;
	if (!p->fragment) {
		if (dns)
			bpf_map_update_elem(&dns_fragmented, &key, &seen, BPF_ANY);
		return;
	}
	if (bpf_map_lookup_elem(&dns_fragmented, &key))
		count(DNSFLOW_CTR_DNS_FRAGMENT);
}

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

	if (settings.dns_tracking && (p.fragment || (dns && p.more_fragments)))
		note_dns_fragment(&p, dns);

	/* Sampling thins flow accounting only: DNS is always tracked, so latency and timeouts
	 * stay complete. */
	if (!dns && settings.sampling > 1 && bpf_get_prandom_u32() % settings.sampling)
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
	if (dns && p.key.proto == PROTO_UDP)
		track_dns(&p, READ_KERNEL, &s, atomics);
	return 0;
}

/* Each program comes in two builds: with atomics (the pending-query slots), and *_hash for
 * kernels before 5.12. User space loads one build of one tracepoint flavour. */
#define TRACEPOINT_PROGRAMS(suffix, atomics)                                                       \
	SEC("tp_btf/net_dev_queue")                                                                \
	int BPF_PROG(dnsflow_egress_btf##suffix, struct sk_buff *skb)                              \
	{                                                                                          \
		return handle_skb(skb, DNSFLOW_EGRESS, 1, atomics);                                \
	}                                                                                          \
	SEC("tp_btf/netif_receive_skb")                                                            \
	int BPF_PROG(dnsflow_ingress_btf##suffix, struct sk_buff *skb)                             \
	{                                                                                          \
		return handle_skb(skb, DNSFLOW_INGRESS, 1, atomics);                               \
	}                                                                                          \
	SEC("tracepoint/net/net_dev_queue")                                                        \
	int dnsflow_egress_tp##suffix(struct trace_event_raw_net_dev_template *ctx)                \
	{                                                                                          \
		return handle_skb(ctx->skbaddr, DNSFLOW_EGRESS, 0, atomics);                       \
	}                                                                                          \
	SEC("tracepoint/net/netif_receive_skb")                                                    \
	int dnsflow_ingress_tp##suffix(struct trace_event_raw_net_dev_template *ctx)               \
	{                                                                                          \
		return handle_skb(ctx->skbaddr, DNSFLOW_INGRESS, 0, atomics);                      \
	}

TRACEPOINT_PROGRAMS(, 1)
TRACEPOINT_PROGRAMS(_hash, 0)

/* DNS over TCP, for the local sockets of every namespace. Always lets the packet through. */
static __always_inline void handle_cgroup_skb(struct __sk_buff *skb, __u8 direction, int atomics)
{
	__u16 eth_type = bpf_ntohs(skb->protocol);
	struct bpf_sock *sk = skb->sk;

	/* Most packets are not TCP: leave before reading a byte of them (this runs for every
	 * packet of every local socket). */
	if (!settings.dns_tracking || !sk)
		return;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);

	if (!tp || (eth_type != ETH_P_IP && eth_type != ETH_P_IPV6))
		return;
	struct packet p = {.ctx = skb};
	struct sighting s = {};

	if (parse_ip(&p, READ_SKB, eth_type) || p.key.proto != PROTO_TCP || !is_dns(&p))
		return;
	s.netns = BPF_CORE_READ((struct sock *)tp, __sk_common.skc_net.net, ns.inum);
	s.now = bpf_ktime_get_ns();
	s.ifindex = skb->ifindex;
	s.direction = direction;
	/* cgroup_skb has no device to name; the tracepoints saw this flow on it already (ingress
	 * runs after netif_receive_skb; egress after the handshake's first packets). */
	struct flow_stats *st = bpf_map_lookup_elem(&flows, &p.key);

	if (st) {
		for (int i = 0; i < DNSFLOW_MAX_OBSERVATIONS; i++) {
			if (st->observations[i].netns == s.netns && st->observations[i].ifindex == s.ifindex) {
				s.name = st->observations[i].ifname;
				break;
			}
		}
	}
	track_dns(&p, READ_SKB, &s, atomics);
}

#define CGROUP_PROGRAMS(suffix, atomics)                                                           \
	SEC("cgroup_skb/egress")                                                                   \
	int dnsflow_tcp_egress##suffix(struct __sk_buff *skb)                                      \
	{                                                                                          \
		handle_cgroup_skb(skb, DNSFLOW_EGRESS, atomics);                                   \
		return 1;                                                                          \
	}                                                                                          \
	SEC("cgroup_skb/ingress")                                                                  \
	int dnsflow_tcp_ingress##suffix(struct __sk_buff *skb)                                     \
	{                                                                                          \
		handle_cgroup_skb(skb, DNSFLOW_INGRESS, atomics);                                  \
		return 1;                                                                          \
	}

CGROUP_PROGRAMS(, 1)
CGROUP_PROGRAMS(_hash, 0)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

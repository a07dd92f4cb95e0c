// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* dnsflow: network flows from every interface of every namespace, enriched with DNS.
 *
 * Flows: the net_dev_queue (egress) and netif_receive_skb (ingress) tracepoints see every packet
 * of every device, veths that appear later included, without attaching to any of them.
 * DNS over UDP is read there too. DNS over TCP is read by cgroup_skb programs on the cgroup v2
 * root: at the tracepoints a TCP segment's payload sits in page frags, out of reach of a read
 * from the linear area, and this needs neither fentry nor kprobes.
 *
 * Queries wait in dns_queries under {namespace, 5-tuple, DNS id}; the first sighting of the
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

const volatile struct dnsflow_settings settings = {};

/* Sizes are placeholders: user space sets them from the config before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct dns_key);
	__type(value, struct dns_query);
} dns_queries SEC(".maps");

/* Responses already reported, so that a second sighting in the same namespace (the other
 * interface of a forwarding namespace) is not an orphan. LRU: entries only need to outlive the
 * few microseconds between sightings, and need no sweeping. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, struct dns_key);
	__type(value, __u64);
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

	if (eth_type == ETH_P_IP) {
		struct ipv4_header ip;

		if (load(p, r, 0, &ip, sizeof(ip)))
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

		if (load(p, r, 0, &ip, sizeof(ip)))
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

	if (proto == PROTO_TCP) {
		__u8 tcp[14];

		if (load(p, r, off, tcp, sizeof(tcp)))
			return -1;
		p->key.src_port = (tcp[0] << 8) | tcp[1];
		p->key.dst_port = (tcp[2] << 8) | tcp[3];
		p->tcp_flags = tcp[13] | ((tcp[12] & 0x01) << 8);
		p->payload_off = off + (tcp[12] >> 4) * 4;
	} else if (proto == PROTO_UDP) {
		__u8 udp[4];

		if (load(p, r, off, udp, sizeof(udp)))
			return -1;
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
	__u32 netns;
	__u32 ifindex;
	__u8 direction;
	struct net_device *dev; /* for the name, read only when needed */
	const char *name;	/* or the name itself, where there is no device (cgroup_skb) */
};

static __always_inline void read_ifname(const struct sighting *s, char *dst)
{
	struct net_device *dev = s->dev;

	if (dev)
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
	__u64 now = bpf_ktime_get_ns();
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

struct dns_header {
	__u16 id;
	__u16 flags;
	__u16 qdcount;
	__u16 ancount;
	__u16 nscount;
	__u16 arcount;
};

static __always_inline __u32 question_len(__u32 dns_len)
{
	__u32 len = dns_len - DNS_HEADER_LEN;

	if (len > DNSFLOW_MAX_QUESTION)
		len = DNSFLOW_MAX_QUESTION;
	barrier_var(len);
	return len;
}

static __always_inline void track_dns(const struct packet *p, enum reader r, const struct sighting *s)
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
	if (dns_len < DNS_HEADER_LEN || load(p, r, off, &h, sizeof(h)))
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

	__u64 now = bpf_ktime_get_ns();
	__u32 qlen = question_len(dns_len);

	if (!response) {
		__u32 zero = 0;
		struct scratch *sc = bpf_map_lookup_elem(&scratch_space, &zero);

		if (!sc)
			return;
		struct dns_query *q = &sc->query;

		q->query_ns = now;
		q->ifindex = s->ifindex;
		q->flags = flags;
		q->bytes = dns_len;
		q->direction = s->direction;
		__builtin_memset(q->ifname, 0, sizeof(q->ifname));
		read_ifname(s, q->ifname);
		q->question_len = 0;
		if (qlen > 0 && !load(p, r, off + DNS_HEADER_LEN, q->question, qlen))
			q->question_len = qlen;
		/* NOEXIST: a retransmission, or the query crossing a second interface of this
		 * namespace, must not restart the clock. */
		long err = bpf_map_update_elem(&dns_queries, &key, q, BPF_NOEXIST);

		if (err == -17 /* EEXIST */)
			count(DNSFLOW_CTR_DNS_RETRANSMIT);
		else if (err)
			count(DNSFLOW_CTR_DNS_QUERY_MAP_FULL);
		return;
	}

	__u64 query_ns = 0;
	struct dns_query *pending = bpf_map_lookup_elem(&dns_queries, &key);

	if (pending) {
		query_ns = pending->query_ns;
	} else if (bpf_map_lookup_elem(&dns_answered, &key)) {
		count(DNSFLOW_CTR_DNS_DUPLICATE);
		return;
	} else {
		count(DNSFLOW_CTR_DNS_ORPHAN);
	}
	bpf_map_update_elem(&dns_answered, &key, &now, BPF_ANY);
	if (pending)
		bpf_map_delete_elem(&dns_queries, &key);

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
	/* Only the question's bytes go out: most names are short, so the ring holds ~3x more. */
	if (bpf_ringbuf_output(&dns_events, e, DNS_EVENT_HEADER_LEN + sent, 0))
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

/* The one handler behind every tracepoint flavour. */
static __always_inline int handle_skb(struct sk_buff *skb, __u8 direction)
{
	struct packet p = {};
	struct sighting s = {};
	__u16 eth_type = bpf_ntohs(BPF_CORE_READ(skb, protocol));

	count(DNSFLOW_CTR_PACKETS);
	if (eth_type != ETH_P_IP && eth_type != ETH_P_IPV6) {
		count(DNSFLOW_CTR_NOT_IP);
		return 0;
	}
	if (direction == DNSFLOW_EGRESS) {
		__u16 nh = BPF_CORE_READ(skb, network_header);

		if (nh == NO_HEADER) {
			count(DNSFLOW_CTR_TRUNCATED_HEADER);
			return 0;
		}
		p.ctx = BPF_CORE_READ(skb, head) + nh;
	} else {
		/* netif_receive_skb fires before the network header offset is reset; the link
		 * layer header has been pulled, so data is the IP header. */
		p.ctx = BPF_CORE_READ(skb, data);
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

	struct net_device *dev = BPF_CORE_READ(skb, dev);

	s.dev = dev;
	s.ifindex = BPF_CORE_READ(dev, ifindex);
	s.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	s.direction = direction;
	account_flow(&p, &s);
	/* TCP payloads are not linear here; cgroup_skb reads those. */
	if (dns && p.key.proto == PROTO_UDP)
		track_dns(&p, READ_KERNEL, &s);
	return 0;
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(dnsflow_egress_btf, struct sk_buff *skb)
{
	return handle_skb(skb, DNSFLOW_EGRESS);
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(dnsflow_ingress_btf, struct sk_buff *skb)
{
	return handle_skb(skb, DNSFLOW_INGRESS);
}

SEC("tracepoint/net/net_dev_queue")
int dnsflow_egress_tp(struct trace_event_raw_net_dev_template *ctx)
{
	return handle_skb(ctx->skbaddr, DNSFLOW_EGRESS);
}

SEC("tracepoint/net/netif_receive_skb")
int dnsflow_ingress_tp(struct trace_event_raw_net_dev_template *ctx)
{
	return handle_skb(ctx->skbaddr, DNSFLOW_INGRESS);
}

/* DNS over TCP, for the local sockets of every namespace. Always lets the packet through. */
static __always_inline void handle_cgroup_skb(struct __sk_buff *skb, __u8 direction)
{
	struct packet p = {.ctx = skb};
	struct sighting s = {};
	__u16 eth_type = bpf_ntohs(skb->protocol);

	if (!settings.dns_tracking || (eth_type != ETH_P_IP && eth_type != ETH_P_IPV6))
		return;
	if (parse_ip(&p, READ_SKB, eth_type) || p.key.proto != PROTO_TCP || !is_dns(&p))
		return;

	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);

	if (!tp)
		return;
	s.netns = BPF_CORE_READ((struct sock *)tp, __sk_common.skc_net.net, ns.inum);
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
	track_dns(&p, READ_SKB, &s);
}

SEC("cgroup_skb/egress")
int dnsflow_tcp_egress(struct __sk_buff *skb)
{
	handle_cgroup_skb(skb, DNSFLOW_EGRESS);
	return 1;
}

SEC("cgroup_skb/ingress")
int dnsflow_tcp_ingress(struct __sk_buff *skb)
{
	handle_cgroup_skb(skb, DNSFLOW_INGRESS);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

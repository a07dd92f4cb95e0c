/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* DNS: a query waits in dns_pending (or dns_queries) under {namespace, 5-tuple, DNS id}; the first
 * sighting of its response in the same namespace ends the wait and goes to user space through
 * dns_events. Later fragments of a DNS message are counted. */
#ifndef __DNSFLOW_DNS_BPF_H
#define __DNSFLOW_DNS_BPF_H

#include "flow.bpf.h"

#define DNS_HEADER_LEN 12
#define DNS_QR_RESPONSE 0x8000
#define DNS_EVENT_HEADER_LEN __builtin_offsetof(struct dns_event, message)

static __always_inline int is_dns_port(__u16 port)
{
	for (int i = 0; i < DNSFLOW_MAX_DNS_PORTS; i++) {
		if (i >= dns_port_count)
			break;
		if (dns_ports[i] == port)
			return 1;
	}
	return 0;
}

static __always_inline int is_dns(const struct packet *p)
{
	if (!dns_tracking || (p->key.proto != PROTO_UDP && p->key.proto != PROTO_TCP))
		return 0;
	return is_dns_port(p->key.src_port) || is_dns_port(p->key.dst_port);
}

/* The transaction's key from one of its packets (key zeroed): a response goes server to client. */
static __always_inline void fill_dns_key(struct dns_key *key, const struct packet *p, int response,
					 __u32 netns, __u16 id)
{
	if (response) {
		__builtin_memcpy(key->client_addr, p->key.dst_addr, 16);
		__builtin_memcpy(key->server_addr, p->key.src_addr, 16);
		key->client_port = p->key.dst_port;
		key->server_port = p->key.src_port;
	} else {
		__builtin_memcpy(key->client_addr, p->key.src_addr, 16);
		__builtin_memcpy(key->server_addr, p->key.dst_addr, 16);
		key->client_port = p->key.src_port;
		key->server_port = p->key.dst_port;
	}
	key->netns = netns;
	key->id = id;
	key->eth_type = p->key.eth_type;
	key->proto = p->key.proto;
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

/* Bytes after the header to copy, at most `max`: those the message has and, at the tracepoints,
 * those in the skb's linear data (past it the head buffer holds no more of the packet). */
static __always_inline __u32 message_len(const struct packet *p, enum reader r, __u32 off,
					 __u32 dns_len, __u32 max)
{
	__u32 len = dns_len - DNS_HEADER_LEN;

	if (r == READ_KERNEL) {
		__u32 start = off + DNS_HEADER_LEN;
		__u32 linear = p->linear_len > start ? p->linear_len - start : 0;

		if (len > linear)
			len = linear;
	}
	if (len > max)
		len = max;
	barrier_var(len);
	return len;
}

/* What a query's detail and a response's event both say: the message's flags and length, and
 * where it was seen. A macro: the two structs share field names, not a layout. */
#define DESCRIBE_MESSAGE(dst, s, flags_, dns_len)                          \
	do {                                                               \
		(dst)->ifindex = (s)->ifindex;                             \
		(dst)->flags = (flags_);                                   \
		(dst)->bytes = (dns_len);                                  \
		(dst)->direction = (s)->direction;                         \
		__builtin_memset((dst)->ifname, 0, sizeof((dst)->ifname)); \
		read_ifname((s), (dst)->ifname);                           \
	} while (0)

/* Who sent the query, where it left a local socket: a send reaches net_dev_queue (and cgroup_skb
 * egress) in the sender's context. A packet that waited (for ARP, for TCP's window) leaves from a
 * softirq instead, in whichever task the CPU was running: the task is taken for the sender only
 * if it is in the socket's cgroup (no per-CPU preempt count to read here: the kernel's kallsyms
 * may not list data symbols). A forwarded query has no socket. */
static __always_inline void read_requester(struct dns_requester *req, const struct sighting *s)
{
	__builtin_memset(req, 0, sizeof(*req));
	if (!s->local_socket)
		return;
	__u64 cgroup = bpf_get_current_cgroup_id();

	if (s->socket_cgroup && cgroup != s->socket_cgroup) {
		count(DNSFLOW_CTR_DNS_REQUESTER_NOT_SENDER);
		return;
	}
	req->pid = bpf_get_current_pid_tgid() >> 32;
	req->cgroup_id = cgroup;
	read_process_comm(req->comm, sizeof(req->comm));
}

/* A query seen again where it was first seen (interface and direction) is a retransmission;
 * on another interface of the namespace it is the same packet crossing it. Not atomic: two
 * retransmissions at once on two CPUs count once. */
static __always_inline void note_seen_again(struct dns_query_detail *d, const struct sighting *s)
{
	count(DNSFLOW_CTR_DNS_QUERY_SEEN_AGAIN);
	if (d->ifindex == s->ifindex && d->direction == s->direction)
		d->retransmits++;
}

/* What a response's event reports of its query; nothing for an orphan (d NULL). */
static __always_inline void take_query(struct dns_event *e, const struct dns_query_detail *d)
{
	if (d) {
		e->query_ip_len = d->ip_len;
		e->retransmits = d->retransmits;
		e->requester = d->requester;
	} else {
		e->query_ip_len = 0;
		e->retransmits = 0;
		__builtin_memset(&e->requester, 0, sizeof(e->requester));
	}
}

/* atomics: a compile-time constant, 0 in the programs for kernels before 5.12 (no BPF
 * compare-and-swap), where every query waits in the dns_queries hash map instead of a slot. */
static __always_inline void track_dns(const struct packet *p, enum reader r,
				      const struct sighting *s, int atomics)
{
	__u32 off = p->payload_off;
	__u32 dns_len = p->payload_len;
	__u32 message_bytes; /* the whole message's, which over TCP may go on in later segments */
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
		message_bytes = msg_len;
	} else {
		message_bytes = dns_len;
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

	fill_dns_key(&key, p, response, s->netns, bpf_ntohs(h.id));

	__u64 now = s->now;
	__u32 hash = dns_key_hash(&key);
	__u32 pending_index = hash & pending_slots_mask;
	struct dns_pending *waiting = bpf_map_lookup_elem(&dns_pending, &pending_index);

	if (!waiting)
		return;
	if (!response) {
		struct dns_query_detail *d =
			bpf_map_lookup_elem(&dns_pending_detail, &pending_index);
		struct dns_query *overflow = NULL;

		if (!d)
			return;
		/* Without atomics, as if held: to the hash map. A free or answered slot (most are, once
		 * used) is claimed by one compare-and-swap from the state read; a lost race leaves
		 * what won in `state`. */
		__u64 state = atomics ? waiting->state : DNSFLOW_SLOT_BUSY;
		int claimed = 0;

		if (atomics && (state == DNSFLOW_SLOT_FREE || state == DNSFLOW_SLOT_ANSWERED)) {
			__u64 seen = __sync_val_compare_and_swap(&waiting->state, state,
								 DNSFLOW_SLOT_BUSY);

			claimed = seen == state;
			state = seen;
		}

		if (claimed) {
			waiting->key = key;
		} else if (state > DNSFLOW_SLOT_ANSWERED && same_dns_key(&waiting->key, &key)) {
			/* A retransmission, or the query crossing a second interface of this
			 * namespace: the clock is not restarted. */
			note_seen_again(d, s);
			return;
		} else {
			struct scratch *sc = scratch();

			if (!sc)
				return;
			overflow = &sc->query;
			overflow->query_ns = now;
			d = &overflow->detail;
		}
		DESCRIBE_MESSAGE(d, s, flags, dns_len);
		d->ip_len = p->ip_len;
		d->retransmits = 0;
		read_requester(&d->requester, s);
		__u32 qlen = message_len(p, r, off, dns_len, DNSFLOW_MAX_QUESTION);

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

		if (err == -17 /* EEXIST */) {
			struct dns_query *first = bpf_map_lookup_elem(&dns_queries, &key);

			if (first)
				note_seen_again(&first->detail, s);
		} else if (err) {
			count(DNSFLOW_CTR_DNS_QUERY_MAP_FULL);
		}
		return;
	}

	struct scratch *sc = scratch();

	if (!sc)
		return;
	struct dns_event *e = &sc->event;
	__u64 query_ns = 0;
	__u32 answered_index = hash & (DNSFLOW_ANSWERED_SLOTS - 1);
	struct dns_key *answered = bpf_map_lookup_elem(&dns_answered, &answered_index);
	__u64 state = waiting->state;
	int same_key = same_dns_key(&waiting->key, &key);
	struct dns_query_detail *d = NULL;
	struct dns_query *pending;

	/* The query's detail is copied before the compare-and-swap: once that ends the wait, a new
	 * query may take the slot and overwrite it. A detail read after `state` is the query's
	 * whose timestamp `state` holds if the compare-and-swap then finds it unchanged. */
	if (atomics && state > DNSFLOW_SLOT_ANSWERED && same_key)
		d = bpf_map_lookup_elem(&dns_pending_detail, &pending_index);
	if (d)
		take_query(e, d);
	/* The compare-and-swap ends the wait only if no one (user space expiring it, the same
	 * response on another CPU) took the slot since it was read. */
	if (atomics && d &&
	    __sync_val_compare_and_swap(&waiting->state, state, DNSFLOW_SLOT_ANSWERED) == state) {
		query_ns = state;
	} else if ((pending = bpf_map_lookup_elem(&dns_queries, &key))) {
		query_ns = pending->query_ns;
		take_query(e, &pending->detail);
		bpf_map_delete_elem(&dns_queries, &key);
		if (answered)
			*answered = key;
	} else if ((state == DNSFLOW_SLOT_ANSWERED && same_key) ||
		   (answered && same_dns_key(answered, &key))) {
		count(DNSFLOW_CTR_DNS_RESPONSE_SEEN_AGAIN);
		return;
	} else {
		count(DNSFLOW_CTR_DNS_ORPHAN_RESPONSE);
		take_query(e, NULL);
	}

	e->key = key;
	e->query_ns = query_ns;
	e->response_ns = now;
	e->ip_len = p->ip_len;
	e->ancount = bpf_ntohs(h.ancount);
	DESCRIBE_MESSAGE(e, s, flags, dns_len);
	__u32 len = message_len(p, r, off, dns_len,
				dns_answers ? DNSFLOW_MAX_MESSAGE : DNSFLOW_MAX_QUESTION);
	__u32 sent = 0;

	if (len > 0 && !load(p, r, off + DNS_HEADER_LEN, e->message, len))
		sent = len;
	e->message_len = sent;
	if (dns_answers && sent < message_bytes - DNS_HEADER_LEN)
		count(DNSFLOW_CTR_DNS_ANSWERS_CUT);
	/* Only the bytes read go out: most messages are short, so the ring holds more of them. The
	 * reader is never woken: it polls, since a wakeup costs the packet path an interrupt (an
	 * APIC write, a VM exit on a virtual machine). */
	if (bpf_ringbuf_output(&dns_events, e, DNS_EVENT_HEADER_LEN + sent, BPF_RB_NO_WAKEUP))
		count(DNSFLOW_CTR_DNS_RING_BUFFER_FULL);
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

#endif /* __DNSFLOW_DNS_BPF_H */

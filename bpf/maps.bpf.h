/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Every map of the programs, and the settings user space writes before load. */
#ifndef __DNSFLOW_MAPS_BPF_H
#define __DNSFLOW_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "dnsflow.h"

/* Settings, in .rodata: the verifier then prunes what they turn off. */
const volatile __u32 sampling = 0; /* account 1 packet in N for non-DNS flows; 0 or 1: all */
const volatile __u32 pending_slots_mask =
	0; /* slots of dns_pending minus 1 (a power of two minus 1) */
const volatile __u8 dns_tracking = 0;
/* 1: a response's event carries its answer section (DNSFLOW_MAX_MESSAGE bytes), not only its
 * question. */
const volatile __u8 dns_answers = 0;
const volatile __u8 dns_port_count = 0;
const volatile __u16 dns_ports[DNSFLOW_MAX_DNS_PORTS] = {};

/* Sizes written by user space before load, from the config. */
#define SIZED_AT_LOAD 1
#define DNS_EVENTS_BYTES (1 << 22)
/* DNS packets the kernel dropped: a ring of its own, so that dns_events keeps one record layout and
 * a burst of drops (a full socket buffer drops thousands) never crowds out transactions. Drained
 * with dns_events every 10 ms: 64 KiB holds ~900 drops, ~90k a second. */
#define DNS_DROPS_BYTES (1 << 16)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SIZED_AT_LOAD);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

/* Queries waiting for their response: a direct-mapped table indexed by a hash of their key, each
 * slot a cache line whose state word (free, busy, answered, or the query's timestamp) changes by
 * compare-and-swap. A query and its response then cost an inlined array lookup and one atomic
 * each, where a hash map's insert, lookup and delete (bucket lock, free list, chain walk) cost
 * more. An answered slot keeps its key until a query reuses it, so that the response seen again
 * in the namespace (its other interface, a duplicate) is told from an orphan. User space maps the
 * table to find the queries that timed out. A query whose slot is held by another waits in
 * dns_queries instead (every query does in the *_hash build); the table is kept small (user space
 * caps it) so that its pages stay in the TLB. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SIZED_AT_LOAD);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct dns_pending);
} dns_pending SEC(".maps");

/* The rest of each waiting query, read only when it times out: kept out of the slot's line. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SIZED_AT_LOAD);
	__type(key, __u32);
	__type(value, struct dns_query_detail);
} dns_pending_detail SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SIZED_AT_LOAD);
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
	__uint(max_entries, DNS_EVENTS_BYTES);
} dns_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DNS_DROPS_BYTES);
} dns_drops SEC(".maps");

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

static __always_inline struct scratch *scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch_space, &zero);
}

static __always_inline void count(enum dnsflow_counter c)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);

	if (v)
		*v += 1; /* per-CPU: no atomics needed */
}

#endif /* __DNSFLOW_MAPS_BPF_H */

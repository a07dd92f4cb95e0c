/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The structs and enums that cross between the programs (bpf/) and user space.
 * No kernel types. */
#ifndef __DNSFLOW_H
#define __DNSFLOW_H

#include <linux/types.h>

#define DNSFLOW_IFNAMSIZ 16
/* A flow lists at most this many (namespace, interface, direction) sightings. */
#define DNSFLOW_MAX_OBSERVATIONS 4
/* Bytes of the DNS message after its 12-byte header that are kept: the question of any name
 * (255 bytes at most, RFC 1035 2.3.4) plus its type. */
#define DNSFLOW_MAX_QUESTION 260
/* Bytes after the header that a response's event carries with dns_answers on: the question and
 * the answer section of a classic UDP message (RFC 1035 4.2.1); a longer one is cut. */
#define DNSFLOW_MAX_MESSAGE 512
#define DNSFLOW_COMM_LEN 16
#define DNSFLOW_MAX_DNS_PORTS 8
/* Fragmented DNS messages whose first fragment was seen, remembered so that their later
 * fragments (which carry no ports) can be counted. */
#define DNSFLOW_MAX_DNS_FRAGMENTED 1024
/* Entries of dns_answered, the keys of responses paired in the dns_queries hash map
 * (a power of two). */
#define DNSFLOW_ANSWERED_SLOTS 4096

enum dnsflow_direction {
	DNSFLOW_INGRESS = 0,
	DNSFLOW_EGRESS = 1,
};

/* One direction of a conversation. IPv4 addresses are stored v4-mapped (::ffff:a.b.c.d). */
struct flow_key {
	__u8 src_addr[16];
	__u8 dst_addr[16];
	__u16 src_port; /* host byte order */
	__u16 dst_port;
	__u16 eth_type;
	__u8 proto;
	__u8 pad;
};

struct flow_observation {
	__u32 netns;
	__u32 ifindex;
	char ifname[DNSFLOW_IFNAMSIZ];
	__u8 direction;
	__u8 pad[3];
};

struct flow_stats {
	__u64 bytes; /* IP bytes, header included */
	__u64 packets;
	__u64 first_seen_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 last_seen_ns;
	__u16 tcp_flags;
	__u8 n_observations;
	__u8 pad[5];
	/* Only sightings on observations[0] are counted: the others are the same packets
	 * crossing another interface (a veth's other end, then the node's NIC). */
	struct flow_observation observations[DNSFLOW_MAX_OBSERVATIONS];
};

/* A DNS transaction as one network namespace sees it. */
struct dns_key {
	__u8 client_addr[16];
	__u8 server_addr[16];
	__u32 netns;
	__u16 client_port;
	__u16 server_port;
	__u16 id;
	__u16 eth_type;
	__u8 proto;
	__u8 pad[3];
};

/* Who sent a query: read in the sender's context, at the first egress sighting of a query that
 * left a local socket. */
struct dns_requester {
	__u64 cgroup_id;	     /* cgroup v2 id */
	__u32 pid;		     /* thread group id; 0: not sent by a local socket here */
	char comm[DNSFLOW_COMM_LEN]; /* the process's: its thread group leader's */
	__u8 pad[4];
};

/* What a query reports when it times out, and what its response's event copies from it. */
struct dns_query_detail {
	__u32 ifindex;
	__u32 ip_len; /* IP bytes of the query's packet */
	__u16 flags;
	__u16 bytes; /* DNS message length */
	__u16 question_len;
	__u16 retransmits; /* seen again on the first sighting's interface and direction */
	__u8 direction;
	__u8 pad[7];
	char ifname[DNSFLOW_IFNAMSIZ];
	struct dns_requester requester;
	__u8 question[DNSFLOW_MAX_QUESTION];
};

/* States of a dns_pending slot besides a query's timestamp (bpf_ktime_get_ns is never below 3). */
#define DNSFLOW_SLOT_FREE 0
#define DNSFLOW_SLOT_BUSY 1 /* being written by a query */
#define DNSFLOW_SLOT_ANSWERED \
	2 /* free, its key kept: a second sighting of the response is no orphan */

/* A slot of dns_pending: one cache line, all that a response reads. Its query's detail sits at the
 * same index of dns_pending_detail. */
struct dns_pending {
	__u64 state; /* DNSFLOW_SLOT_*, or the waiting query's bpf_ktime_get_ns() */
	struct dns_key key;
	__u8 pad[8];
};

/* A query waiting in dns_queries: another held its slot, or the kernel has no BPF compare-and-swap
 * (the *_hash build of the programs). */
struct dns_query {
	__u64 query_ns;
	struct dns_query_detail detail;
};

/* Ring buffer record: the first sighting of a response in a namespace. */
struct dns_event {
	struct dns_key key;
	__u64 query_ns; /* 0: no query seen (orphan response) */
	__u64 response_ns;
	__u32 ifindex;
	__u32 ip_len;	    /* IP bytes of the response's packet */
	__u32 query_ip_len; /* and of its query's (0: orphan) */
	__u16 flags;	    /* the response's: QR, opcode, AA, TC, RD, RA, AD, CD, rcode */
	__u16 bytes;	    /* DNS message length */
	__u16 message_len;  /* bytes of message[] sent */
	__u16 ancount;	    /* the header's answer count */
	__u16 retransmits;  /* the query's */
	__u8 direction;
	__u8 pad;
	char ifname[DNSFLOW_IFNAMSIZ];
	struct dns_requester requester; /* the query's */
	/* The message after its header: the question, and with dns_answers on the sections after
	 * it, up to DNSFLOW_MAX_MESSAGE bytes (DNSFLOW_MAX_QUESTION with it off). */
	__u8 message[DNSFLOW_MAX_MESSAGE];
};

/* Ring buffer record of dns_drops: a DNS packet the kernel dropped (kfree_skb). The key is the
 * transaction's, client and server told apart by the header's QR bit (by the DNS port when the
 * header was not read). */
struct dns_drop_event {
	struct dns_key key; /* id 0 with has_id 0: not read (TCP, or past the first bytes) */
	__u64 drop_ns;
	__u32 reason; /* enum skb_drop_reason; user space names it from the kernel's BTF */
	__u8 response;
	__u8 has_id;
	__u8 pad[2];
};

/* Per-CPU counters, one slot each; every early return that loses data bumps one. */
enum dnsflow_counter {
	DNSFLOW_CTR_PACKETS,		  /* packets the tracepoints looked at */
	DNSFLOW_CTR_NOT_IP,		  /* neither IPv4 nor IPv6: not a flow */
	DNSFLOW_CTR_TRUNCATED_HEADER,	  /* IP or transport header could not be read */
	DNSFLOW_CTR_FLOW_MAP_FULL,	  /* a new flow dropped: cacheMaxFlows reached */
	DNSFLOW_CTR_DNS_SHORT,		  /* DNS port, payload shorter than a DNS header */
	DNSFLOW_CTR_DNS_BAD_QDCOUNT,	  /* a DNS message whose question count is not 1 */
	DNSFLOW_CTR_DNS_QUERY_MAP_FULL,	  /* a query not tracked: dnsTracking.maxPending reached */
	DNSFLOW_CTR_DNS_RING_BUFFER_FULL, /* a transaction lost: the ring buffer was full */
	DNSFLOW_CTR_DNS_QUERY_SEEN_AGAIN, /* a query seen again before its response (not reset) */
	DNSFLOW_CTR_DNS_RESPONSE_SEEN_AGAIN, /* a response seen again in the same namespace */
	DNSFLOW_CTR_DNS_ORPHAN_RESPONSE,     /* a response with no query seen */
	DNSFLOW_CTR_DNS_FRAGMENT, /* a non-first IP fragment on a DNS flow: no header to read */
	/* a local socket's query sent while a task of another cgroup ran (from a softirq, as when
	 * it waited for ARP): no requester, since that task is not the sender */
	DNSFLOW_CTR_DNS_REQUESTER_NOT_SENDER,
	/* a response's sections cut (dns_answers on): longer than DNSFLOW_MAX_MESSAGE, past the
	 * skb's linear data at the tracepoints, or going on in a later TCP segment */
	DNSFLOW_CTR_DNS_ANSWERS_CUT,
	/* kfree_skb (PacketDrop): the drops it left at once, and DNS drops lost */
	DNSFLOW_CTR_DROP_NOT_IP,	   /* a dropped packet neither IPv4 nor IPv6 */
	DNSFLOW_CTR_DROP_NO_HEADER,	   /* its network header unset or unreadable */
	DNSFLOW_CTR_DROP_NOT_DNS,	   /* not UDP or TCP to or from a DNS port */
	DNSFLOW_CTR_DROP_RING_BUFFER_FULL, /* a DNS drop lost: dns_drops was full */
	DNSFLOW_CTR_MAX,
};

#endif /* __DNSFLOW_H */

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The few kernel structs dnsflow reads, as CO-RE subsets: libbpf relocates every field against the
 * running kernel's BTF, so neither a 100k-line vmlinux.h nor kernel headers are needed. */
#ifndef __DNSFLOW_KERNEL_BPF_H
#define __DNSFLOW_KERNEL_BPF_H

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common ns;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} __attribute__((preserve_access_index)) possible_net_t;

struct net_device {
	char name[16];
	int ifindex;
	possible_net_t nd_net;
} __attribute__((preserve_access_index));

struct sk_buff {
	struct net_device *dev;
	unsigned int len;
	unsigned int data_len;
	__u16 protocol; /* __be16 */
	__u16 transport_header;
	__u16 network_header;
	__u16 mac_header;
	unsigned char *head;
	unsigned char *data;
} __attribute__((preserve_access_index));

struct sock_common {
	possible_net_t skc_net;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

/* tracepoint/net/{net_dev_queue,netif_receive_skb}: the classic (non-BTF) layout of
 * net_dev_template, stable since 2.6.36: 8 bytes of common fields, then the skb pointer. */
struct trace_event_raw_net_dev_template {
	__u64 common;
	struct sk_buff *skbaddr;
};

#endif /* __DNSFLOW_KERNEL_BPF_H */

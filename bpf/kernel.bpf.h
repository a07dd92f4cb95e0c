/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The few kernel structs dnsflow reads, as CO-RE subsets: libbpf relocates every field against the
 * running kernel's BTF, so neither a 100k-line vmlinux.h nor kernel headers are needed. */
#ifndef __DNSFLOW_KERNEL_BPF_H
#define __DNSFLOW_KERNEL_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

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
	struct sock *sk;
	unsigned int len;
	unsigned int data_len;
	__u16 protocol; /* __be16 */
	__u16 transport_header;
	__u16 network_header;
	__u16 mac_header;
	unsigned char *head;
	unsigned char *data;
} __attribute__((preserve_access_index));

struct kernfs_node {
	__u64 id;
} __attribute__((preserve_access_index));

struct cgroup {
	struct kernfs_node *kn;
} __attribute__((preserve_access_index));

/* A plain pointer to the socket's cgroup v2 since Linux 5.15 (commit 8520e224f547 "bpf, cgroups:
 * Fix cgroup v2 fallback on v1/v2 mixed mode"); before, a pointer packed with v1 data. */
struct sock_cgroup_data {
	struct cgroup *cgroup;
} __attribute__((preserve_access_index));

struct sock_common {
	possible_net_t skc_net;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	struct sock_cgroup_data sk_cgrp_data;
} __attribute__((preserve_access_index));

/* The cgroup v2 id of the task that created the socket; 0 where the kernel's layout is the older
 * one. */
static __always_inline __u64 sock_cgroup_id(struct sock *sk)
{
	if (!bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		return 0;
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
}

struct task_struct {
	struct task_struct *group_leader;
	char comm[16];
} __attribute__((preserve_access_index));

/* The current process's name: its thread group leader's comm. bpf_get_current_comm gives the
 * thread's, which a program may have renamed (dig sends from "isc-net-0000"). */
static __always_inline void read_process_comm(char *dst, __u32 size)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	bpf_core_read(dst, size, &leader->comm);
}

/* tracepoint/net/{net_dev_queue,netif_receive_skb}: the classic (non-BTF) layout of
 * net_dev_template, stable since 2.6.36: 8 bytes of common fields, then the skb pointer. */
struct trace_event_raw_net_dev_template {
	__u64 common;
	struct sk_buff *skbaddr;
};

#endif /* __DNSFLOW_KERNEL_BPF_H */

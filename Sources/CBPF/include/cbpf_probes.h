#ifndef DNSFLOW_CBPF_PROBES_H
#define DNSFLOW_CBPF_PROBES_H
/* Kept apart from cbpf.h: probes.c compiles before the skeleton that cbpf.h includes is generated. */

/* 1 if the kernel loads a tp_btf program for each of the `count` raw tracepoints `names`
 * (BTF-enabled raw tracepoints, Linux 5.5, and vmlinux BTF), 0 if not. */
int dnsflow_probe_tp_btf(const char *const *names, int count);

/* 1 if the kernel has BPF compare-and-swap (BPF_ATOMIC | BPF_CMPXCHG, Linux 5.12), 0 if not. */
int dnsflow_probe_cmpxchg(void);

/* 1 if the kernel loads tp_btf/kfree_skb and its BTF has enum skb_drop_reason (the tracepoint's
 * reason argument, Linux 5.17), 0 if not. */
int dnsflow_probe_drop_reasons(void);
#endif

#ifndef DNSFLOW_CBPF_H
#define DNSFLOW_CBPF_H
#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "../../../bpf/dnsflow.h"
/* Generated at build time by Plugins/BPFObjectPlugin (bpftool gen skeleton) from bpf/dnsflow.bpf.c. */
#include "dnsflow.skel.h"
#include "cbpf_probes.h"

/* The state words of dns_pending, shared with the programs through mmap: user space frees an
 * expired slot with the same compare-and-swap the programs use, so a response racing the expiry
 * is reported once, by whichever wins. */
static inline __u64 dnsflow_load_slot_state(const __u64 *word)
{
	return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

static inline int dnsflow_swap_slot_state(__u64 *word, __u64 expected, __u64 desired)
{
	return __atomic_compare_exchange_n(word, &expected, desired, 0, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

#endif

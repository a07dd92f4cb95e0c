#ifndef DNSFLOW_CBPF_SHIM_H
#define DNSFLOW_CBPF_SHIM_H
#include <errno.h>
#include <malloc.h> /* mallopt, malloc_trim: the agent keeps its RSS down (ProcessMemory.swift) */
#include <string.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "../../bpf/dnsflow.h"

/* The offset of global variable `name` in the map `map` (a .rodata/.data section), from the
 * object's BTF; a negative errno if it is not there. What a bpftool skeleton would generate. */
static inline long dnsflow_global_offset(const struct bpf_object *obj, const struct bpf_map *map, const char *name)
{
	const struct btf *btf = bpf_object__btf(obj);
	if (!btf)
		return -ENOENT;
	__u32 sec_id = bpf_map__btf_value_type_id(map);
	const struct btf_type *sec = btf__type_by_id(btf, sec_id);
	if (!sec || !btf_is_datasec(sec))
		return -ENOENT;
	const struct btf_var_secinfo *vars = btf_var_secinfos(sec);
	for (__u16 i = 0; i < btf_vlen(sec); i++) {
		const struct btf_type *var = btf__type_by_id(btf, vars[i].type);
		const char *var_name = var ? btf__name_by_offset(btf, var->name_off) : NULL;
		if (var_name && strcmp(var_name, name) == 0)
			return vars[i].offset;
	}
	return -ENOENT;
}

/* The state words of dns_pending_since, shared with the programs through mmap: user space frees
 * an expired slot with the same compare-and-swap the programs use, so a response racing the
 * expiry is reported once, by whichever wins. */
static inline __u64 dnsflow_load_slot_state(const __u64 *word)
{
	return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

static inline int dnsflow_swap_slot_state(__u64 *word, __u64 expected, __u64 desired)
{
	return __atomic_compare_exchange_n(word, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
#endif

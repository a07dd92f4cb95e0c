/* Kernel feature probes: each loads a tiny program and reports whether the kernel took it, the
 * way libbpf-tools' trace_helpers.c probes before choosing which programs to load. */
#include <unistd.h>
#include <stdio.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "cbpf_probes.h"

#define INSN(op, dst, src, offset, immediate) \
	((struct bpf_insn){ .code = (op),     \
			    .dst_reg = (dst), \
			    .src_reg = (src), \
			    .off = (offset),  \
			    .imm = (immediate) })
#define MOV64_IMM(dst, immediate) INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, immediate)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static int loads(enum bpf_prog_type type, const struct bpf_insn *insns, size_t count,
		 const struct bpf_prog_load_opts *opts)
{
	int fd = bpf_prog_load(type, NULL, "GPL", insns, count, opts);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

int dnsflow_probe_tp_btf(const char *const *names, int count)
{
	struct bpf_insn insns[] = { MOV64_IMM(BPF_REG_0, 0), EXIT() };
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int all = vmlinux != NULL;

	for (int i = 0; all && i < count; i++) {
		char type_name[128];

		snprintf(type_name, sizeof(type_name), "btf_trace_%s", names[i]);
		int id = btf__find_by_name_kind(vmlinux, type_name, BTF_KIND_TYPEDEF);
		LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP,
			    .attach_btf_id = id);

		all = id > 0 &&
		      loads(BPF_PROG_TYPE_TRACING, insns, sizeof(insns) / sizeof(insns[0]), &opts);
	}
	btf__free(vmlinux);
	return all;
}

int dnsflow_probe_cmpxchg(void)
{
	/* *(u64 *)(r10 - 8) = 0; r0 = cmpxchg(r10 - 8, r0 = 0, r1 = 0); r0 = 0; exit */
	struct bpf_insn insns[] = {
		INSN(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, -8, 0),
		MOV64_IMM(BPF_REG_0, 0),
		MOV64_IMM(BPF_REG_1, 0),
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_10, BPF_REG_1, -8, BPF_CMPXCHG),
		MOV64_IMM(BPF_REG_0, 0),
		EXIT(),
	};

	return loads(BPF_PROG_TYPE_SOCKET_FILTER, insns, sizeof(insns) / sizeof(insns[0]), NULL);
}

int dnsflow_probe_drop_reasons(void)
{
	const char *name = "kfree_skb";
	struct btf *vmlinux;
	int has_enum;

	if (!dnsflow_probe_tp_btf(&name, 1))
		return 0;
	/* The tracepoint takes its reason since Linux 5.17, which added the enum. */
	vmlinux = btf__load_vmlinux_btf();
	has_enum = vmlinux && btf__find_by_name_kind(vmlinux, "skb_drop_reason", BTF_KIND_ENUM) > 0;
	btf__free(vmlinux);
	return has_enum;
}

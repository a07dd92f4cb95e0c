#ifndef DNSFLOW_CBPF_SHIM_H
#define DNSFLOW_CBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#endif

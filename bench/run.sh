#!/usr/bin/env bash
# `make bench` entry point: the dnsflow agent benchmark (issue 6). Needs root and a release build.
#
#   bench/run.sh                  full run: 20 s cases, REPEATS (default 3) interleaved repeats
#   BENCH_QUICK=1 bench/run.sh    smoke run for CI: 2 s cases at 2,000 qps, 1 repeat
#   BENCH_SCRIPT=soak.py          another script on the same lab and clean-up (bench/soak.sh)
#
# The work is done by bench/agent_bench.py; this wrapper checks the prerequisites and, whatever
# happens to the Python process (even kill -9), removes the namespaces, kills the processes it
# started and switches kernel.bpf_stats_enabled back off.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "bench: must run as root (network namespaces, eBPF, bpf_stats)" >&2
	exit 1
fi
for tool in ip dnsperf dnsmasq dumpcap tshark bpftool python3 sysctl iperf3; do
	command -v "$tool" >/dev/null || { echo "bench: $tool not found (make deps)" >&2; exit 1; }
done
if [ ! -x "${BENCH_BIN:-.build/release/dnsflow}" ]; then
	echo "bench: .build/release/dnsflow missing; run: swift build -c release (or make bench)" >&2
	exit 1
fi

# Names unique to this run, shared with the Python side so this trap can clean up after it.
export BENCH_ID="dfb$(($$ % 100000))"
BENCH_STATE="$(mktemp -d /tmp/dnsflow-bench.XXXXXX)"
export BENCH_STATE

cleanup() {
	local rc=$?
	sysctl -qw kernel.bpf_stats_enabled=0 2>/dev/null || true
	# bench/agent_bench.py keeps the pids of its live children in this file.
	if [ -s "$BENCH_STATE/pids" ]; then
		while read -r pid; do
			[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
		done <"$BENCH_STATE/pids"
	fi
	for ns in "${BENCH_ID}c" "${BENCH_ID}s"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then
		echo "bench: logs kept in $BENCH_STATE" >&2
	else
		rm -rf "$BENCH_STATE"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

python3 "bench/${BENCH_SCRIPT:-agent_bench.py}" "$@"

# dnsflow: `make run` brings it up on this machine, `make test` runs every test. Both as root.
SHELL := /bin/bash
APT_PACKAGES := libbpf-dev libelf-dev zlib1g-dev libsqlite3-dev iproute2 bpftool curl dnsmasq bind9-dnsutils \
	tshark dnsperf python3 python3-pip chromium prometheus libcap2-bin clang-format nftables podman runc busybox-static iperf3 \
	clickhouse-server clickhouse-client
PIP_PACKAGES := ipfix

.PHONY: deps build release run test fmt fmt-check chart-test bench soak microbench clean

deps: ## system packages the build and the tests need (Debian 12)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@python3 -c 'import ipfix' 2>/dev/null || pip install -q $(PIP_PACKAGES)

build: deps
	swift build

release: deps ## static Swift libraries, as in the image (Containerfile): what the benchmark measures
	swift build -c release --static-swift-stdlib

run: release ## the agent and the collector in one process, with a lab of DNS traffic
	.build/release/dnsflow up --lab

test: deps fmt-check chart-test ## formatting, unit and integration tests (integration tests need root), then the fuzzers briefly
	swift build --build-tests
	swift test --skip-build --skip IntegrationTests --skip BPFProbeTests
	# The real-kernel tests one at a time: they time DNS to the microsecond and share the node, and
	# loading BPF programs stalls the tests beside them for seconds.
	swift test --skip-build --filter "IntegrationTests|BPFProbeTests" --no-parallel
	# A 30 s soak: drops all explained, every transaction exported (bench/soak.sh runs 10 min).
	SOAK_SECONDS=30 SOAK_SAMPLE=5 SOAK_HOSTILE_EVERY=5 SOAK_RESULTS=.build/soak BENCH_BIN=.build/debug/dnsflow bash bench/soak.sh
	# The agent benchmark once at a tiny size (2 s cases at 2,000 qps, debug build): it keeps the harness working; its figures mean nothing here.
	BENCH_QUICK=1 BENCH_SAMPLE=1 BENCH_RESULTS=.build/bench BENCH_BIN=.build/debug/dnsflow bash bench/run.sh > .build/bench.log 2>&1 || { tail -40 .build/bench.log; exit 1; }
	FUZZ_TIME=20 FUZZ_SEED=1 bash bench/fuzz/run.sh > .build/fuzz.log 2>&1 || { tail -40 .build/fuzz.log; exit 1; }
	@grep -E '^Done [0-9]+ runs' .build/fuzz.log

SWIFT_SOURCES := Sources Tests Plugins Benchmarks/DNSFlowBenchmarks Package.swift Benchmarks/Package.swift
C_SOURCES = bpf/*.[ch] Sources/CBPF/*.c Sources/CBPF/include/*.h Sources/CMalloc/*.h

fmt: ## formats the Swift (.swift-format: 4 spaces, 120 columns) and the C (.clang-format: kernel style)
	swift format format -i -r $(SWIFT_SOURCES)
	clang-format -i $(C_SOURCES)

fmt-check: deps ## what `make fmt` would change, as errors
	swift format lint --strict -r $(SWIFT_SOURCES)
	clang-format --dry-run --Werror $(C_SOURCES)

chart-test: ## the Helm chart: lint, render, validate against Kubernetes 1.29 and 1.33 (no cluster needed)
	bash deploy/helm/test.sh

bench: release
	bench/run.sh

soak: release ## 10 minutes of mixed and hostile DNS: memory flat, drops explained, everything exported
	bench/soak.sh

# Not in `make test`: timings mean nothing on a shared CI machine, and its release build takes minutes.
microbench: deps ## micro-benchmarks of the agent's hot paths (Benchmarks/, release), raw output in bench/results/
	set -o pipefail; swift package --package-path Benchmarks benchmark --no-progress \
		| tee bench/results/microbench-$$(date -u +%Y%m%dT%H%M%SZ).txt

clean:
	rm -rf .build Benchmarks/.build

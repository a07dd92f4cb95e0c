# dnsflow: `make run` brings it up on this machine, `make test` runs every test. Both as root.
SHELL := /bin/bash
APT_PACKAGES := libbpf-dev libelf-dev zlib1g-dev libsqlite3-dev iproute2 bpftool curl dnsmasq bind9-dnsutils \
	tshark dnsperf python3 python3-pip chromium prometheus libcap2-bin clang-format nftables podman runc busybox-static \
	debootstrap openssl iperf3 publicsuffix unbound bind9 \
	clickhouse-server clickhouse-client
PIP_PACKAGES := ipfix

.PHONY: deps build release run test fmt fmt-check chart-test bench soak microbench clean image image-base

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
	swift test --skip-build --skip IntegrationTests --skip BPFProbeTests --skip ClickHouseStore
	# The image from the debug binary (the release build takes too long here); ImageTests runs it.
	$(MAKE) image IMAGE_BUILD=debug
	# The real-kernel tests one at a time: they time DNS to the microsecond and share the node, and
	# loading BPF programs stalls the tests beside them for seconds. ClickHouseStore*: the tests that start
	# ClickHouse servers, one at a time.
	swift test --skip-build --filter "IntegrationTests|BPFProbeTests|ClickHouseStore" --no-parallel
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

chart-test: ## the Helm chart: lint, render, validate against Kubernetes 1.29 and 1.33 (no cluster needed); promtool on its PrometheusRule
	bash deploy/helm/test.sh
	bash deploy/helm/test_rules.sh

bench: release
	bench/run.sh

soak: release ## 10 minutes of mixed and hostile DNS: memory flat, drops explained, everything exported
	bench/soak.sh

# Not in `make test`: timings mean nothing on a shared CI machine, and its release build takes minutes.
microbench: deps ## micro-benchmarks of the agent's hot paths (Benchmarks/, release), raw output in bench/results/
	set -o pipefail; swift package --package-path Benchmarks benchmark --no-progress \
		| tee bench/results/microbench-$$(date -u +%Y%m%dT%H%M%SZ).txt

# The image: Debian 12 by debootstrap (kept in podman and under .build/image-base: only the first run takes minutes), the
# host-built binary on it. IMAGE_BUILD=debug takes the debug binary with the toolchain's libraries it links.
IMAGE := localhost/dnsflow:dev
IMAGE_BUILD ?= release
IMAGE_BASE_PACKAGES := libbpf1,libelf1,zlib1g,libsqlite3-0,ca-certificates
# Tagged by its package list: a changed list makes a new base.
IMAGE_BASE := localhost/dnsflow-base:bookworm-$(shell echo $(IMAGE_BASE_PACKAGES) | cksum | cut -c1-8)
PODMAN := podman --runtime runc --cgroup-manager cgroupfs

image-base: deps ## Debian 12 (minbase) made by debootstrap, imported into podman (once per package list)
	@$(PODMAN) image exists $(IMAGE_BASE) && exit 0; \
	if [ ! -f .build/image-base/rootfs/etc/debian_version ]; then \
		rm -rf .build/image-base/rootfs.tmp && mkdir -p .build/image-base && \
		debootstrap --variant=minbase --include=$(IMAGE_BASE_PACKAGES) bookworm .build/image-base/rootfs.tmp \
			http://deb.debian.org/debian > .build/image-base/debootstrap.log 2>&1 || { tail -20 .build/image-base/debootstrap.log; exit 1; }; \
		rm -rf .build/image-base/rootfs.tmp/var/cache/apt/archives/*.deb .build/image-base/rootfs.tmp/var/lib/apt/lists/*; \
		mv .build/image-base/rootfs.tmp .build/image-base/rootfs; \
	fi; \
	tar -C .build/image-base/rootfs -c . | $(PODMAN) import - $(IMAGE_BASE) >/dev/null

image: image-base ## the Containerfile built with podman, tagged localhost/dnsflow:dev
	@if [ "$(IMAGE_BUILD)" = release ]; then $(MAKE) release; else swift build --product dnsflow; fi
	rm -rf .build/image-context && mkdir -p .build/image-context/lib
	cp .build/$(IMAGE_BUILD)/dnsflow .build/image-context/dnsflow
	@# A debug binary links the Swift runtime dynamically: its libraries from the toolchain go along.
	ldd .build/image-context/dnsflow | awk '$$3 ~ /swift|Foundation|dispatch|BlocksRuntime|icu/ {print $$3}' \
		| xargs -r cp -t .build/image-context/lib
	$(PODMAN) build --pull=never --build-arg BASE=$(IMAGE_BASE) --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -q -t $(IMAGE) -f Containerfile .build/image-context >/dev/null
	@$(PODMAN) image inspect $(IMAGE) --format 'image $(IMAGE): {{.Size}} bytes'

clean:
	rm -rf .build Benchmarks/.build

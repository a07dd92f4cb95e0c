#!/bin/sh
# Builds DNSFlowCore and the benchmark with -O (whole module) and runs it on one core.
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
swiftc -O -wmo -parse-as-library -emit-module -emit-library -static -module-name DNSFlowCore \
    -emit-module-path "$out/DNSFlowCore.swiftmodule" -o "$out/libDNSFlowCore.a" Sources/DNSFlowCore/*.swift
# Top-level code must live in main.swift once a second file joins it.
cp bench/FlowRecordJSONBenchmark.swift "$out/main.swift"
swiftc -O -I "$out" -L "$out" -lDNSFlowCore -o "$out/json-encode-benchmark" "$out/main.swift" bench/BenchmarkRecords.swift
taskset -c 0 "$out/json-encode-benchmark"

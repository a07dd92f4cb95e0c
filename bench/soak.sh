#!/usr/bin/env bash
# The soak run (issue 7): bench/soak.py on the agent benchmark's lab, with bench/run.sh's checks
# and clean-up. As root, after `swift build -c release --product dnsflow`.
#
#   bench/soak.sh                          10 minutes at 500 qps
#   SOAK_SECONDS=30 bench/soak.sh          CI's short run (no memory verdict under 3 minutes)
#   SOAK_RATE=1000 SOAK_SAMPLE=5 bench/soak.sh
#   BENCH_BIN=.build/debug/dnsflow bench/soak.sh
BENCH_SCRIPT=soak.py exec "$(dirname "$0")/run.sh" "$@"

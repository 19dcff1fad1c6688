#!/usr/bin/env bash
# Benchmark (not part of scripts/test.sh): Earshot against Asterisk's own
# ChanSpy on the sandbox — time-to-audio, mode switch, the supervisor's gap
# at a switch —, notification latency through the fake FCM, and the API's
# pool users view next to a bare Echo handler. Prints a table and writes
# .cache/bench/bench.json and bench.md.
#   scripts/bench.sh [ROUNDS]     (default 30 of each)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /usr/local/go/bin ] && export PATH=/usr/local/go/bin:$PATH
scripts/sandbox.sh provision
trap 'scripts/sandbox.sh stop' EXIT INT TERM
scripts/sandbox.sh start
eval "$(scripts/sandbox.sh env)"
EARSHOT_BENCH=1 EARSHOT_BENCH_N=${1:-30} \
  go test -count=1 -run '^TestBench$' -timeout 30m -v ./cmd/earshot 2>&1 | grep -v -e '^=== RUN' -e 'round .* done'

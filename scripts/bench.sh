#!/usr/bin/env bash
# Benchmark (not part of scripts/test.sh): Earshot against Asterisk's own
# ChanSpy on the sandbox — time-to-audio, listen→whisper and whisper→barge
# (how soon the agent / customer hears the supervisor, and the
# supervisor's gap in call audio) —, notification latency through the fake
# FCM, capacity (25…300 concurrently supervised calls on a separate
# earshot process: CPU, RSS, events, dropped events, hearing), and the
# API's pool users view next to a bare Echo handler. Prints a table and
# writes .cache/bench/bench.json and bench.md. Then the SIP load benchmark
# (TestBenchSIP): real SIP and RTP calls from SIPp, Asterisk's CPU for the
# calls alone, with Earshot supervising every call and with ChanSpy on
# every call (.cache/bench/sip.json and sip.md).
#   scripts/bench.sh [ROUNDS]     (default 30 of each)
#   EARSHOT_BENCH_STEPS=25,50     other capacity steps ("0": none)
#   EARSHOT_BENCH_SIP_STEPS=25,50 other SIP load steps
#   EARSHOT_BENCH_ONLY=sip        the SIP load benchmark alone
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /usr/local/go/bin ] && export PATH=/usr/local/go/bin:$PATH
# Go: the release go.mod's toolchain line names (it has the standard
# library's security fixes); an older local Go (1.21+) downloads it from
# the module proxy. Exported, so the tests' own `go build`s use it too.
export GOTOOLCHAIN="$(sed -n 's/^toolchain //p' go.mod)"
scripts/sandbox.sh provision
# SIPp for the SIP load benchmark (Debian's sip-tester).
if ! command -v sipp >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester) \
    >.cache/bench-apt.log 2>&1 || { echo "bench: apt-get install sip-tester failed; see .cache/bench-apt.log" >&2; exit 1; }
fi
tests='^TestBench(SIP)?$'
[ "${EARSHOT_BENCH_ONLY:-}" = sip ] && tests='^TestBenchSIP$'
trap 'scripts/sandbox.sh stop' EXIT INT TERM
scripts/sandbox.sh start
eval "$(scripts/sandbox.sh env)"
EARSHOT_BENCH=1 EARSHOT_BENCH_N=${1:-30} \
  go test -count=1 -run "$tests" -timeout 60m -v ./cmd/earshot 2>&1 | grep -v -e '^=== RUN' -e 'round .* done'
echo "bench: finished in ${SECONDS} s"

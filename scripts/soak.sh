#!/usr/bin/env bash
# Soak: continuous supervised calls against the sandbox Asterisk for a
# duration (default 20m), printing goroutines, RSS, sessions, channels and
# bridges over time; fails on leaks or growth. Not part of scripts/test.sh.
#   scripts/soak.sh [DURATION] [WORKERS]
# A second sandbox (e.g. to soak while developing on the first):
#   EARSHOT_SANDBOX_DIR=/tmp/soak-sandbox EARSHOT_SANDBOX_ARI_PORT=8090 scripts/soak.sh 20m
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /usr/local/go/bin ] && export PATH=/usr/local/go/bin:$PATH
# Go: the release go.mod's toolchain line names (it has the standard
# library's security fixes); an older local Go (1.21+) downloads it from
# the module proxy. Exported, so the tests' own `go build`s use it too.
export GOTOOLCHAIN="$(sed -n 's/^toolchain //p' go.mod)"
duration=${1:-20m}
workers=${2:-4}
scripts/sandbox.sh provision
trap 'scripts/sandbox.sh stop' EXIT INT TERM
scripts/sandbox.sh start
eval "$(scripts/sandbox.sh env)"
EARSHOT_SOAK=$duration EARSHOT_SOAK_WORKERS=$workers \
  go test -count=1 -run '^TestSoak$' -timeout 0 -v ./cmd/earshot 2>&1 | grep -v '^=== RUN'

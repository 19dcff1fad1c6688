#!/usr/bin/env bash
# test.sh — the full test suite, as CI and a newcomer run it: provisions
# the sandbox Asterisk when absent (Debian sid chroot, cached in
# .cache/sandbox), starts it on 127.0.0.1, runs go vet and every test,
# and stops it again, also on failure. Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
# Go: the release go.mod's toolchain line names (it has the standard
# library's security fixes); an older local Go (1.21+) downloads it from
# the module proxy. Exported, so the tests' own `go build`s use it too.
export GOTOOLCHAIN="$(sed -n 's/^toolchain //p' go.mod)"
command -v go >/dev/null 2>&1 || { echo "test: Go is missing (https://go.dev/dl, 1.21 or later; it fetches the release go.mod names)" >&2; exit 1; }
started=$SECONDS
echo "test: $(go version)"

scripts/sandbox.sh provision
# A second sandbox Asterisk, for the tests of several nodes under one
# Earshot: a copy of the first chroot (made once, in seconds) on the ARI
# port three above the first's (SIP moves with it).
node1_dir=${EARSHOT_SANDBOX_DIR:-$PWD/.cache/sandbox}
node2_dir=${EARSHOT_SANDBOX_DIR_2:-$node1_dir-node2}
node2_port=${EARSHOT_SANDBOX_ARI_PORT_2:-$(( ${EARSHOT_SANDBOX_ARI_PORT:-8088} + 3 ))}
node2() { EARSHOT_SANDBOX_DIR=$node2_dir EARSHOT_SANDBOX_ARI_PORT=$node2_port scripts/sandbox.sh "$@"; }
EARSHOT_SANDBOX_CLONE_FROM=$node1_dir node2 provision
# Signals become a normal exit, so the EXIT trap always stops the sandboxes.
trap 'node2 stop; scripts/sandbox.sh stop' EXIT
trap 'exit 130' INT TERM
scripts/sandbox.sh start
node2 start
eval "$(scripts/sandbox.sh env)"
# The second node's coordinates: the same variables with NODE2_ in them,
# and what the tests need to crash and restart it.
eval "$(node2 env | sed 's/^export EARSHOT_/export EARSHOT_NODE2_/')"
export EARSHOT_NODE2_SANDBOX_DIR=$node2_dir EARSHOT_NODE2_SANDBOX_ARI_PORT=$node2_port
# Integration tests fail, rather than skip, when the sandbox is missing.
export EARSHOT_SANDBOX_REQUIRED=1

# The web console's browser test (TestConsole) drives Debian's Chromium
# from Go over the DevTools protocol (chromedp): it needs chromium, from
# apt, and nothing else — no Node anywhere in the suite.
mkdir -p .cache
if ! command -v chromium >/dev/null 2>&1; then
  echo "test: installing chromium with apt"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >.cache/apt-browser.log 2>&1 \
    || { echo "test: apt-get install chromium failed; see .cache/apt-browser.log" >&2; exit 1; }
fi
# It refreshes the screenshots in docs/.
export EARSHOT_BROWSER_REQUIRED=1
# The OpenAPI document's linter needs Node: it is scripts/lint.sh, not part
# of the suite (TestOpenAPI_Lint skips here), so the suite needs no Node.

go vet ./...
# One package and one test at a time: every integration test shares the
# sandbox Asterisk, and with subscribeAll each test's calls are events for
# every ARI application, which Asterisk 22 cannot always survive being
# unregistered under (README, "Known Asterisk issues").
go test -count=1 -p 1 -parallel 1 "$@" ./...

# Every fuzz target runs its seeds above; here each also fuzzes briefly
# (longer runs: go test -run='^$' -fuzz=FuzzX -fuzztime=5m ./pkg). A crasher
# is saved under testdata/fuzz and replays first on the retry, so a second
# failure is real; a single one can be a worker starved by a slow disk.
fuzztime=${EARSHOT_FUZZTIME:-3s}
fuzzlog=$(mktemp)
for target in $(grep -rhoE '^func (Fuzz[A-Za-z0-9_]+)' --include='*_test.go' --exclude-dir=.cache . | cut -d' ' -f2 | sort -u); do
  pkg=$(dirname "$(grep -rlE "^func $target\(" --include='*_test.go' --exclude-dir=.cache . | head -1)")
  if ! go test -run='^$' -fuzz="^$target\$" -fuzztime="$fuzztime" "$pkg" >"$fuzzlog" 2>&1; then
    echo "test: fuzz target $target in $pkg failed once; its output, then one retry:" >&2
    grep -v '^fuzz: elapsed' "$fuzzlog" | tail -40 >&2
    if ! go test -run='^$' -fuzz="^$target\$" -fuzztime="$fuzztime" "$pkg" >"$fuzzlog" 2>&1; then
      grep -v '^fuzz: elapsed' "$fuzzlog" | tail -40 >&2
      echo "test: fuzz target $target in $pkg failed twice" >&2
      exit 1
    fi
  fi
  echo "fuzz: $target ($pkg) ran $fuzztime without a failure"
done
rm -f "$fuzzlog"
echo "test: suite finished in $((SECONDS - started)) s"

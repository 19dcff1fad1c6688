#!/usr/bin/env bash
# test.sh — the full test suite, as CI and a newcomer run it: provisions
# the sandbox Asterisk when absent (Debian sid chroot, cached in
# .cache/sandbox), starts it on 127.0.0.1, runs go vet and every test,
# and stops it again, also on failure. Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || { echo "test: Go is missing (https://go.dev/dl, 1.26 or later)" >&2; exit 1; }
started=$SECONDS

scripts/sandbox.sh provision
trap 'scripts/sandbox.sh stop' EXIT
scripts/sandbox.sh start
eval "$(scripts/sandbox.sh env)"
# Integration tests fail, rather than skip, when the sandbox is missing.
export EARSHOT_SANDBOX_REQUIRED=1

go vet ./...
# One package and one test at a time: every integration test shares the
# sandbox Asterisk, and with subscribeAll each test's calls are events for
# every ARI application, which Asterisk 22 cannot always survive being
# unregistered under (README, "Known Asterisk issues").
go test -count=1 -p 1 -parallel 1 "$@" ./...
echo "test: suite finished in $((SECONDS - started)) s"

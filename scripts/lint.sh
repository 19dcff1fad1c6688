#!/usr/bin/env bash
# lint.sh — lints the served OpenAPI document with Redocly's recommended
# rules (@redocly/openapi-core, the engine of `redocly lint`, pinned in
# httpapi/testdata/redocly): errors fail, warnings are printed. It needs
# Node 18 or later and npm (installed with apt when missing), which is why
# it is a command of its own: the test suite (scripts/test.sh) needs no
# Node. Contract checks that need no Node (every request and answer of the
# API tests against the document) run in the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export GOTOOLCHAIN="$(sed -n 's/^toolchain //p' go.mod)"
mkdir -p .cache
if ! command -v npm >/dev/null 2>&1; then
  echo "lint: installing nodejs and npm with apt"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm) >.cache/apt-lint.log 2>&1 \
    || { echo "lint: apt-get install nodejs npm failed; see .cache/apt-lint.log" >&2; exit 1; }
fi
(cd httpapi/testdata/redocly && npm ci --no-audit --no-fund --loglevel=error) >.cache/npm-lint.log 2>&1 \
  || { echo "lint: npm ci in httpapi/testdata/redocly failed; see .cache/npm-lint.log" >&2; exit 1; }
EARSHOT_LINT_REQUIRED=1 go test -count=1 -run '^TestOpenAPI_Lint$' -v ./httpapi | grep -v '^=== RUN'

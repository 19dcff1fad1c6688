#!/usr/bin/env bash
# run.sh — Earshot with everything it needs on this machine: provisions and
# starts the sandbox Asterisk (cached in .cache/sandbox), builds earshot and
# runs it with the demo directory and push in log mode. Ctrl-C stops both.
# With --two-nodes (first argument) it starts a second sandbox Asterisk (a
# copy of the first chroot, ARI on the first's port + 3) and runs Earshot
# over both: node a (supervising number +35891234599) and node b
# (+35891234598). Other arguments go to earshot.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
# Go: the release go.mod's toolchain line names (it has the standard
# library's security fixes); an older local Go (1.21+) downloads it from
# the module proxy. Exported, so the tests' own `go build`s use it too.
export GOTOOLCHAIN="$(sed -n 's/^toolchain //p' go.mod)"
command -v go >/dev/null 2>&1 || { echo "run: Go is missing (https://go.dev/dl, 1.21 or later; it fetches the release go.mod names)" >&2; exit 1; }

two_nodes=0
if [ "${1:-}" = --two-nodes ]; then
  two_nodes=1
  shift
fi
node1_dir=${EARSHOT_SANDBOX_DIR:-$PWD/.cache/sandbox}
node2_dir=${EARSHOT_SANDBOX_DIR_2:-$node1_dir-node2}
node2_port=${EARSHOT_SANDBOX_ARI_PORT_2:-$(( ${EARSHOT_SANDBOX_ARI_PORT:-8088} + 3 ))}
node2() { EARSHOT_SANDBOX_DIR=$node2_dir EARSHOT_SANDBOX_ARI_PORT=$node2_port scripts/sandbox.sh "$@"; }

scripts/sandbox.sh provision
nodes=()
if [ $two_nodes = 1 ]; then
  EARSHOT_SANDBOX_CLONE_FROM=$node1_dir node2 provision
  # Signals become a normal exit, so the EXIT trap always stops the sandboxes.
  trap 'node2 stop; scripts/sandbox.sh stop' EXIT
else
  trap 'scripts/sandbox.sh stop' EXIT
fi
trap 'exit 130' INT TERM
scripts/sandbox.sh start
eval "$(scripts/sandbox.sh env)"
if [ $two_nodes = 1 ]; then
  EARSHOT_SANDBOX_SUPERVISING_NUMBER=+35891234598 node2 start
  eval "$(node2 env | sed 's/^export EARSHOT_/export EARSHOT_NODE2_/')"
  nodes=(--node-id a --nodes "id=b,ari-url=$EARSHOT_NODE2_ARI_URL,ari-password=$EARSHOT_NODE2_ARI_PASSWORD,supervising-number=+35891234598")
fi
mkdir -p .cache/demo
go build -o .cache/demo/earshot ./cmd/earshot
go build -o .cache/demo/earshot-sim ./cmd/earshot-sim

cat <<'MSG'

Earshot is starting against the sandbox Asterisk (ARI on 127.0.0.1:8088),
with the demo directory testdata/directory/demo.yaml:
  organization acme (supervising on), supervisor sara (+358401234567),
  agents alice, bob and carol in pools sales and support.
Health: curl -s 127.0.0.1:8080/readyz
Metrics: curl -s -H 'Authorization: Bearer demo-operator-token-not-for-production' 127.0.0.1:8080/metrics
Simulated calls: .cache/demo/earshot-sim call | supervise | list | hangup
A whole supervision, step by step: README, "Try it".
Stop with Ctrl-C.

MSG
if [ $two_nodes = 1 ]; then
  cat <<MSG
Two nodes: a (ARI $EARSHOT_ARI_URL, supervising number +35891234599) and
b (ARI $EARSHOT_NODE2_ARI_URL, supervising number +35891234598). An offer
names the node of the agent's call and its number; /readyz lists both.
Simulated calls on node b: EARSHOT_ARI_URL=$EARSHOT_NODE2_ARI_URL \
  .cache/demo/earshot-sim call -agent bob | supervise -number +35891234598

MSG
fi
# earshot runs as a waited-for job: bash runs traps only between commands,
# so a signal to this script is forwarded to earshot, which ends its
# sessions cleanly; the EXIT trap then stops the sandbox.
.cache/demo/earshot \
  --directory testdata/directory/demo.yaml \
  --db .cache/demo/earshot.db \
  --supervising-number +35891234599 \
  --default-region FI \
  --push log \
  --admin-token demo-operator-token-not-for-production \
  "${nodes[@]}" "$@" &
earshot=$!
trap 'kill -TERM $earshot 2>/dev/null; wait $earshot; exit 130' INT TERM
wait $earshot

#!/usr/bin/env bash
# sandbox.sh — a real Asterisk for Earshot's tests and demo, in a Debian sid
# chroot (Debian bookworm ships no asterisk package).
#
#   scripts/sandbox.sh provision   build the chroot once (cached in .cache/sandbox)
#   scripts/sandbox.sh start       install the config, start Asterisk on 127.0.0.1, wait for ARI
#   scripts/sandbox.sh stop        stop Asterisk (by pid) and unmount what start mounted
#   scripts/sandbox.sh crash       kill Asterisk with SIGKILL (for tests of Asterisk dying)
#   scripts/sandbox.sh status      say whether it runs
#   scripts/sandbox.sh env         print the EARSHOT_* variables that reach the sandbox
#
# EARSHOT_SANDBOX_DIR places the chroot (default .cache/sandbox) and
# EARSHOT_SANDBOX_ARI_PORT its ports (ARI, default 8088; SIP moves with
# it): a second node for the tests of several nodes is a second directory
# on another port. With EARSHOT_SANDBOX_CLONE_FROM naming a provisioned
# sandbox directory, provision copies that chroot (while no Asterisk runs
# in it) instead of building one: a copy takes seconds, a build minutes.
# EARSHOT_SANDBOX_SUPERVISING_NUMBER, at start, replaces the supervising
# number in the installed asterisk-conf dialplan (a second node's own).
#
# Every step is safe to repeat. A chroot without its ready marker is a
# half-built one and is rebuilt. Failures print one line starting "sandbox:".
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${EARSHOT_SANDBOX_DIR:-$top/.cache/sandbox}
root=$cache/root
marker=$root/.earshot-ready
pidfile=$cache/asterisk.pid
ari_port=${EARSHOT_SANDBOX_ARI_PORT:-8088}
ari_user=earshot
ari_password=${EARSHOT_SANDBOX_ARI_PASSWORD:-earshot-sandbox}
suite=sid
mirror=${EARSHOT_SANDBOX_MIRROR:-http://deb.debian.org/debian}
packages="asterisk asterisk-modules asterisk-core-sounds-en-gsm"
# SIP phones for the tests (internal/phones/sip.go). A chroot provisioned
# before they were added gets them at start (add_packages).
phone_packages="baresip-core"

die() { echo "sandbox: $*" >&2; exit 1; }
log() { echo "sandbox: $*" >&2; }

need_root() {
  [ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and mount need it); try: sudo $0 $*"
}

# mounted_under prints the mount points at or below $1, deepest first.
mounted_under() {
  awk -v p="$1" '$2 == p || index($2, p "/") == 1 {print $2}' /proc/mounts | sort -r
}

unmount_all() {
  local m
  for m in $(mounted_under "$1"); do
    umount "$m" 2>/dev/null || umount -l "$m" || die "cannot unmount $m"
  done
}

# remove_tree deletes a chroot only once nothing is mounted inside it, so a
# forgotten proc mount can never take the host's /proc down with it.
remove_tree() {
  [ -e "$1" ] || return 0
  unmount_all "$1"
  [ -z "$(mounted_under "$1")" ] || die "refusing to delete $1: something is still mounted inside"
  rm -rf --one-file-system "$1"
}

provision() {
  need_root provision
  if [ -f "$marker" ]; then
    return 0
  fi
  local started=$SECONDS tmp=$cache/root.partial
  local from=${EARSHOT_SANDBOX_CLONE_FROM:-}
  if [ -n "$from" ] && [ -f "$from/root/.earshot-ready" ]; then
    # A copy, not hard links: Asterisk writes astdb in place.
    running_pid "$from/asterisk.pid" >/dev/null \
      && die "cannot copy $from/root while its Asterisk runs; stop it first"
    log "copying the provisioned chroot $from/root to $root"
    mkdir -p "$cache"
    remove_tree "$root"
    remove_tree "$tmp"
    cp -a --one-file-system "$from/root" "$tmp" || die "copying $from/root failed"
    rm -f "$tmp/var/lib/asterisk/astdb.sqlite3"
    mv "$tmp" "$root"
    log "copied $(cat "$marker") in $((SECONDS - started)) s"
    return 0
  fi
  log "provisioning Asterisk in a Debian $suite chroot at $root (takes a few minutes, once)"
  mkdir -p "$cache"
  remove_tree "$root"
  remove_tree "$tmp"
  if ! command -v debootstrap >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap) \
      >"$cache/apt-host.log" 2>&1 || die "apt-get install debootstrap failed (no network?); see $cache/apt-host.log"
  fi
  debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || die "debootstrap failed (no network or mirror unreachable?); see $cache/debootstrap.log"
  mount -t proc proc "$tmp/proc"
  local ok=1
  {
    chroot "$tmp" apt-get -o Acquire::Check-Valid-Until=false update &&
    chroot "$tmp" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false \
      install -y --no-install-recommends $packages $phone_packages
  } >"$cache/apt-chroot.log" 2>&1 || ok=0
  unmount_all "$tmp"
  [ $ok = 1 ] || die "installing $packages in the chroot failed; see $cache/apt-chroot.log"
  # Root in some sandboxes cannot read files owned by another user.
  mkdir -p "$tmp/run/asterisk"
  chroot "$tmp" chown -R root:root /etc/asterisk /var/lib/asterisk /var/log/asterisk \
    /var/spool/asterisk /run/asterisk
  chroot "$tmp" asterisk -V >"$tmp/.earshot-ready"
  mv "$tmp" "$root"
  log "provisioned $(cat "$marker") in $((SECONDS - started)) s"
}

# add_packages installs into a provisioned chroot what provisioning
# installs today but did not when the chroot was built.
add_packages() {
  [ -x "$root/usr/bin/baresip" ] && return 0
  log "installing $phone_packages into the sandbox"
  local ok=1
  [ -n "$(mounted_under "$root/proc")" ] || mount -t proc proc "$root/proc"
  {
    chroot "$root" apt-get -o Acquire::Check-Valid-Until=false update &&
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false \
      install -y --no-install-recommends $phone_packages
  } >"$cache/apt-chroot.log" 2>&1 || ok=0
  [ $ok = 1 ] || die "installing $phone_packages in the chroot failed; see $cache/apt-chroot.log"
}

# running_pid prints the pid of the Asterisk in the pid file $1 (default:
# this sandbox's) if it runs.
running_pid() {
  local pid file=${1:-$pidfile}
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # The pid must still be an asterisk; pids are reused.
  grep -q asterisk "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

# install_config writes the sandbox's base config, then installs
# asterisk-conf/ the way a site would (as include-able snippets under
# /etc/asterisk/earshot/) plus the test dialplan from testdata/.
install_config() {
  local etc=$root/etc/asterisk
  mkdir -p "$etc/earshot" "$root/var/spool/asterisk/earshot-test"
  rm -f "$etc"/earshot/*
  cp "$top"/asterisk-conf/*.conf "$etc/earshot/"
  cp "$top"/testdata/asterisk/*.conf "$etc/"
  # The site snippets carry a placeholder password; the sandbox sets its own.
  sed -i "s/^password *=.*/password = $ari_password/" "$etc/earshot/ari.conf"
  sed -i "s/^bindport *=.*/bindport = $ari_port/" "$etc/http.conf" "$etc/earshot/http.conf"
  # A node of several under one Earshot has its own supervising number
  # (README, "Several Asterisk nodes"): the demo's second node takes it here.
  local number=${EARSHOT_SANDBOX_SUPERVISING_NUMBER:-}
  if [ -n "$number" ]; then
    [[ $number =~ ^\+[1-9][0-9]{5,14}$ ]] || die "EARSHOT_SANDBOX_SUPERVISING_NUMBER=$number is not an E.164 number"
    sed -i "s/+35891234599/$number/g" "$etc/earshot/extensions.conf"
  fi
  # A second sandbox (another port) must not fight the first over SIP.
  if [ "$ari_port" != 8088 ]; then
    sed -i "s/^bind = 127.0.0.1:5060/bind = 127.0.0.1:$((ari_port - 8088 + 5060))/" "$etc/earshot/pjsip.conf"
  fi
}

wait_ari() {
  local i
  for i in $(seq 1 150); do
    if curl -fsS -u "$ari_user:$ari_password" "http://127.0.0.1:$ari_port/ari/asterisk/info" >/dev/null 2>&1; then
      return 0
    fi
    # kill -0 alone: right after the fork the child is still this script
    # (not yet exec'd into asterisk), which running_pid would refuse.
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      die "Asterisk exited during start; see $cache/asterisk.log"
    fi
    sleep 0.2
  done
  die "ARI did not answer on 127.0.0.1:$ari_port within 30 s; see $cache/asterisk.log"
}

start() {
  need_root start
  if ! command -v curl >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl) \
      >"$cache/apt-host.log" 2>&1 || die "apt-get install curl failed; see $cache/apt-host.log"
  fi
  [ -f "$marker" ] || die "not provisioned; run: $0 provision"
  if pid=$(running_pid); then
    log "Asterisk already runs (pid $pid); restarting it with the current config"
    stop
  fi
  # Another Asterisk on the port (another checkout's sandbox) would answer
  # in place of this one, with its own recordings elsewhere.
  if curl -s -o /dev/null "http://127.0.0.1:$ari_port/"; then
    die "127.0.0.1:$ari_port is already in use (another sandbox? stop it, or set EARSHOT_SANDBOX_ARI_PORT)"
  fi
  add_packages
  install_config
  [ -n "$(mounted_under "$root/proc")" ] || mount -t proc proc "$root/proc"
  # -f keeps it in the foreground of this background job, so $! is its pid.
  chroot "$root" /usr/sbin/asterisk -U root -G root -f -n >"$cache/asterisk.log" 2>&1 &
  echo $! >"$pidfile"
  wait_ari
  log "Asterisk runs (pid $(cat "$pidfile")), ARI on http://127.0.0.1:$ari_port"
}

stop() {
  need_root stop
  local pid i
  if pid=$(running_pid); then
    chroot "$root" /usr/sbin/asterisk -rx "core stop now" >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
  [ -d "$root" ] && unmount_all "$root"
  return 0
}

crash() {
  need_root crash
  local pid
  pid=$(running_pid) || die "Asterisk is not running"
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

status() {
  if pid=$(running_pid); then
    echo "running (pid $pid) on http://127.0.0.1:$ari_port"
  elif [ -f "$marker" ]; then
    echo "provisioned, stopped"; return 3
  else
    echo "not provisioned"; return 3
  fi
}

print_env() {
  cat <<EOF
export EARSHOT_ARI_URL=http://127.0.0.1:$ari_port
export EARSHOT_ARI_USER=$ari_user
export EARSHOT_ARI_PASSWORD=$ari_password
export EARSHOT_SANDBOX_ROOT=$root
export EARSHOT_SANDBOX_SCRIPT=$top/scripts/sandbox.sh
export EARSHOT_SANDBOX_PIDFILE=$pidfile
export EARSHOT_SANDBOX_SIP=127.0.0.1:$((ari_port - 8088 + 5060))
EOF
}

case "${1:-}" in
  provision) provision ;;
  start) start ;;
  stop) stop ;;
  crash) crash ;;
  status) status ;;
  env) print_env ;;
  *) echo "usage: $0 provision|start|stop|crash|status|env" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Runs a Docker engine on a machine that has none, for the testcontainers
# path of Redthread's Neo4j tests (see README.md beside this file). Needs
# root and Debian's apt; pulls nothing from a registry.
#
#   dockerd.sh start    install docker.io and debootstrap (apt, once), start
#                       dockerd unless one answers, and wait until it does
#   dockerd.sh stop     stop the dockerd this script started
#   dockerd.sh status   exit 0 when an engine answers
#
# Environment (all optional):
#   DOCKERD_ROOT   the engine's data root (~/.cache/redthread/dockerd)
set -euo pipefail

root=${DOCKERD_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/redthread/dockerd}
pidfile=$root/dockerd.pid
logfile=$root/dockerd.log
say() { echo "dockerd: $*" >&2; }

answers() { command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; }

install() {
  if command -v dockerd >/dev/null && command -v debootstrap >/dev/null; then
    return 0
  fi
  [ "$(id -u)" = 0 ] || { say "installing docker.io needs root"; exit 1; }
  say "installing docker.io and debootstrap with apt (first time only)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
}

start() {
  if answers; then
    say "an engine already answers"
    return 0
  fi
  install
  mkdir -p "$root"
  say "starting dockerd (storage vfs, no iptables rules; data in $root/data; log $logfile)"
  # vfs needs no overlay support from the kernel; without iptables the
  # engine still publishes ports, through its userland proxy.
  setsid dockerd --data-root "$root/data" --storage-driver vfs --iptables=false --ip-masq=false \
    --pidfile "$pidfile" </dev/null >"$logfile" 2>&1 &
  local waited=0
  until answers; do
    if [ "$waited" -ge 60 ]; then
      say "no answer after 60s; last lines of $logfile:"
      tail -n 20 "$logfile" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "ready after ${waited}s"
}

stop() {
  if [ ! -f "$pidfile" ] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "no dockerd started by this script is running"
    return 0
  fi
  local pid
  pid=$(cat "$pidfile")
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge 60 ]; then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if answers; then say "an engine answers"; else say "no engine answers"; exit 1; fi ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Runs a real MLflow tracking server + model registry for Redthread's tests
# and local runs: mlflow from PyPI in a cached venv, SQLite backend,
# artifacts proxied by the server (new runs get mlflow-artifacts:/ URIs and
# clients upload and download over REST, so no shared disk is needed),
# webhooks enabled towards loopback. No Docker.
#
#   mlflow.sh install  install mlflow into the cached venv (start does it too)
#   mlflow.sh start    install (cached) and start the server unless it runs; wait for /health
#   mlflow.sh stop     stop the server this script started on MLFLOW_PORT
#   mlflow.sh status   exit 0 when it runs and answers
#   mlflow.sh uri      print the tracking URI, e.g. http://127.0.0.1:5000
#
# Environment (all optional):
#   MLFLOW_PORT           port (5000)
#   MLFLOW_VERSION        the mlflow release (3.18.0, the pinned one)
#   MLFLOW_FALLBACK_VERSION  used when MLFLOW_VERSION cannot be installed from the
#                         package index (3.17.2: some mirrors list mlflow 3.18.0 but
#                         not its mlflow-skinny 3.18.0); empty: no fallback
#   MLFLOW_CACHE          venv and server homes (~/.cache/redthread/mlflow)
#   MLFLOW_HOME_DIR       the server's home: mlflow.db, artifacts/, logs (MLFLOW_CACHE/server-PORT)
#   MLFLOW_START_TIMEOUT  seconds to wait for /health (180)
set -euo pipefail

port=${MLFLOW_PORT:-5000}
version=${MLFLOW_VERSION:-3.18.0}
fallback=${MLFLOW_FALLBACK_VERSION-3.17.2}
cache=${MLFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redthread/mlflow}
venv=$cache/venv-$version
home=${MLFLOW_HOME_DIR:-$cache/server-$port}
timeout=${MLFLOW_START_TIMEOUT:-180}
pidfile=$home/mlflow.pid
logfile=$home/mlflow.out

say() { echo "mlflow: $*" >&2; }
uri() { echo "http://127.0.0.1:$port"; }

healthy() { curl -fsS --max-time 2 "$(uri)/health" 2>/dev/null | grep -q OK; }

running() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && grep -q mlflow "/proc/$pid/cmdline" 2>/dev/null
}

installed() {
  [ -x "$venv/bin/mlflow" ] && "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mlflow') != '$version')" 2>/dev/null
}

install() {
  installed && return
  local marker=$cache/unavailable-$version
  # A release this index lacked is retried once a day, not on every start.
  if [ -n "$fallback" ] && [ -n "$(find "$marker" -mmin -1440 2>/dev/null)" ]; then
    use_fallback; return
  fi
  say "installing mlflow $version into $venv (several hundred MB the first time; pip cache ~/.cache/pip)"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  if "$venv/bin/pip" install --quiet --disable-pip-version-check "mlflow==$version" > "$cache/pip-$version.log" 2>&1; then
    rm -f "$marker"; return
  fi
  rm -rf "$venv"
  if [ -z "$fallback" ] || [ "$fallback" = "$version" ]; then
    say "cannot install mlflow $version: $(tail -1 "$cache/pip-$version.log")"; exit 1
  fi
  say "mlflow $version cannot be installed from this package index ($(tail -1 "$cache/pip-$version.log")); falling back to $fallback (MLFLOW_FALLBACK_VERSION= refuses)"
  touch "$marker"
  use_fallback
}

use_fallback() {
  version=$fallback
  venv=$cache/venv-$version
  installed && return
  say "installing mlflow $version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "mlflow==$version"
}

start() {
  if running && healthy; then
    say "already running (pid $(cat "$pidfile")) at $(uri); log: $logfile"
    uri
    return
  fi
  if healthy; then
    say "port $port answers but was not started by this script; set MLFLOW_PORT"
    exit 1
  fi
  install
  mkdir -p "$home/artifacts"
  # A Fernet key for webhook secrets, kept with the server so a restart can
  # still decrypt the secrets it stored.
  [ -f "$home/fernet.key" ] || "$venv/bin/python" -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" > "$home/fernet.key"
  say "starting on $(uri); home: $home; log: $logfile"
  MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY=$(cat "$home/fernet.key") \
  MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https \
  MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true \
  MLFLOW_WEBHOOK_CACHE_TTL=1 \
  nohup "$venv/bin/mlflow" server --host 127.0.0.1 --port "$port" \
    --backend-store-uri "sqlite:///$home/mlflow.db" \
    --artifacts-destination "$home/artifacts" --serve-artifacts \
    --workers 1 > "$logfile" 2>&1 &
  echo $! > "$pidfile"
  local waited=0
  until healthy; do
    if ! running; then
      say "the server died; end of its log:"; tail -20 "$logfile" >&2; exit 1
    fi
    if [ "$waited" -ge "$timeout" ]; then
      say "not healthy after ${timeout}s; end of its log:"; tail -20 "$logfile" >&2; exit 1
    fi
    sleep 1; waited=$((waited + 1))
  done
  say "ready at $(uri) after ${waited}s (pid $(cat "$pidfile"))"
  uri
}

stop() {
  if ! running; then
    say "not running on port $port"
    rm -f "$pidfile"
    return
  fi
  local pid
  pid=$(cat "$pidfile")
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  say "stopped"
}

case "${1:-}" in
  install) install; "$venv/bin/mlflow" --version ;;
  start) start ;;
  stop) stop ;;
  status) running && healthy ;;
  uri) uri ;;
  *) echo "usage: $0 install|start|stop|status|uri" >&2; exit 2 ;;
esac

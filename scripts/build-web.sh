#!/usr/bin/env bash
# Builds the offline GraphQL playground into web/dist/ (embedded by web.go):
# `npm ci` from web/package-lock.json (downloads cached in ~/.npm), then
# esbuild through `npm run build`. Skipped when web/dist/index.html (written
# last by the build) is newer than the lock file and every source, so a
# second `make web` costs nothing. FORCE=1 rebuilds anyway.
set -euo pipefail

cd "$(dirname "$0")/../web"

stamp=dist/index.html
if [[ -z "${FORCE:-}" && -f $stamp && -d node_modules ]]; then
  newer=$(find package.json package-lock.json build.mjs src -newer "$stamp" -print -quit)
  if [[ -z $newer ]]; then
    echo "web: dist is up to date (FORCE=1 to rebuild)"
    exit 0
  fi
fi

command -v npm >/dev/null || { echo "web: npm not found; install Node.js 20 or later" >&2; exit 1; }

# npm ci only when node_modules does not match the lock file (npm writes
# node_modules/.package-lock.json on every install); --prefer-offline reuses
# ~/.npm without asking the registry again.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --prefer-offline --no-audit --no-fund --loglevel=error
fi
npm run --silent build
echo "web: built $(du -sh dist | cut -f1) into web/dist"

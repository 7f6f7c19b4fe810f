#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed, for the playground's browser
# test (cmd/redthread TestPlaygroundInBrowser, driven by npm's
# playwright-core, which cannot download browsers here). Installs it with
# apt when missing and running as root; otherwise says what to do, and the
# test skips (or fails, with CI=true).
set -euo pipefail

browser=${CHROMIUM:-/usr/bin/chromium}
if [[ -x $browser ]]; then
  exit 0
fi
if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
  echo "chromium: $browser not found; install Debian's chromium package (or set CHROMIUM) for the playground's browser test" >&2
  exit 0
fi
echo "chromium: installing Debian's chromium with apt (first time only)" >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
"$browser" --version >&2

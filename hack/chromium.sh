#!/usr/bin/env bash
# chromium.sh makes sure Debian's headless-capable Chromium is installed, for
# the e2e test that renders the demo's report.html in a real browser, and
# prints its path. It installs only when /usr/bin/chromium is missing.
set -euo pipefail
chromium=/usr/bin/chromium
if [ ! -x "$chromium" ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
  echo "chromium.sh: installing Debian's chromium" >&2
  $sudo apt-get update >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2
fi
echo "$chromium"

#!/usr/bin/env bash
# demo.sh runs the README's main job on the built-in local cluster. Until the
# full demo (issue 7) lands it brings a local cluster up, shows its nodes by
# tier and zone, and takes it down.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin/sparkplane
if "$bin" demo --help >/dev/null 2>&1; then
  exec "$bin" demo "$@"
fi
name=demo-$$
trap '"$bin" dev down --name "$name" >/dev/null 2>&1 || true' EXIT
"$bin" dev up --name "$name"
"$bin" dev status --name "$name"
"$bin" dev down --name "$name"
trap - EXIT

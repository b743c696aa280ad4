#!/usr/bin/env bash
# promtool.sh installs Prometheus's promtool (used by the platform tests to
# check and unit-test the rendered alert rules) into
# $SPARKPLANE_CACHE/bin/promtool-<version>/promtool and prints its path.
#
# It is idempotent. On Debian/Ubuntu it unpacks promtool from the distribution's
# `prometheus` package (apt-get download: no root, nothing installed system-wide);
# elsewhere, or if that fails, it builds promtool from the Go module proxy
# (github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_GO_VERSION; slower).
#
# Usage: hack/promtool.sh
set -euo pipefail

cache=${SPARKPLANE_CACHE:-$HOME/.cache/sparkplane}
bindir=$cache/bin
deb_version=${PROMTOOL_DEB_VERSION:-2.42.0+ds-5+deb12u1}
go_version=${PROMTOOL_GO_VERSION:-v0.54.1}
mkdir -p "$bindir"

for existing in "$bindir"/promtool-*/promtool; do
  if [[ -x $existing ]]; then
    echo "$existing"
    exit 0
  fi
done

from_debian() {
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || return 1
  local tmp dest
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  # A fresh machine has no package lists yet: fetch them once (root only).
  if ! apt-cache show prometheus >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    apt-get update -qq >&2 || true
  fi
  if ! (cd "$tmp" && apt-get download "prometheus=$deb_version" >&2); then
    # The pinned build may have left the archive: take the distribution's current one.
    (cd "$tmp" && apt-get download prometheus >&2) || return 1
  fi
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root"
  [[ -x $tmp/root/usr/bin/promtool ]] || return 1
  local version
  version=$(dpkg-deb -f "$tmp"/prometheus_*.deb Version | sed 's/[^A-Za-z0-9.+-]/_/g')
  dest=$bindir/promtool-deb-$version
  mkdir -p "$dest"
  cp "$tmp/root/usr/bin/promtool" "$dest/promtool"
  echo "$dest/promtool"
}

from_go() {
  local dest=$bindir/promtool-$go_version
  mkdir -p "$dest"
  echo "promtool: building github.com/prometheus/prometheus/cmd/promtool@$go_version (several minutes)" >&2
  GOBIN=$dest GOFLAGS=${GOFLAGS:--buildvcs=false} go install "github.com/prometheus/prometheus/cmd/promtool@$go_version" >&2
  echo "$dest/promtool"
}

if path=$(from_debian); then
  echo "promtool: unpacked from Debian's prometheus package" >&2
  echo "$path"
else
  from_go
fi

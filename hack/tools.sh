#!/usr/bin/env bash
# tools.sh builds the binaries sparkplane runs (Kubernetes control plane, kubectl,
# etcd, kwok, Karpenter's kwok provider, controller-gen, helm) from the pinned modules
# under tools/, into $SPARKPLANE_CACHE/bin/<tool>-<version>/.
#
# It is idempotent: a binary whose folder already holds a stamp matching the
# module's go.sum (and, for the Kubernetes binaries, the version ldflags in
# .ldflags) is skipped, so a second run takes seconds. A rebuild replaces each
# binary by rename, so a cluster starting meanwhile finds the old binary or the
# new one, never none.
#
# Usage: hack/tools.sh [--print-dirs]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${SPARKPLANE_CACHE:-$HOME/.cache/sparkplane}
bindir=$cache/bin
export GOFLAGS=${GOFLAGS:--buildvcs=false}
export GOCACHE=${GOCACHE:-$cache/go-build}
mkdir -p "$bindir"

# version MODULE_DIR MODULE_PATH prints the version of MODULE_PATH the module requires.
version() {
  (cd "$root/tools/$1" && go list -m -f '{{.Version}}' "$2")
}

# build NAME-VERSION MODULE_DIR PACKAGE...: builds each package's command into
# $bindir/NAME-VERSION unless the stamp there matches the module's go.sum and
# the folder's .ldflags matches $LDFLAGS (extra -ldflags, empty for most tools).
build() {
  local dest=$bindir/$1 moddir=$root/tools/$2 ldflags=${LDFLAGS:-}
  shift 2
  local stamp
  stamp=$(cat "$moddir/go.mod" "$moddir/go.sum" | sha256sum | cut -c1-16)
  if [[ -f $dest/.stamp && $(cat "$dest/.stamp") == "$stamp" &&
    "$(cat "$dest/.ldflags" 2>/dev/null)" == "$ldflags" ]]; then
    echo "tools: $(basename "$dest") is up to date"
    return
  fi
  echo "tools: building $(basename "$dest") ($*)"
  local start=$SECONDS tmp
  tmp=$(mktemp -d "$bindir/.build.XXXXXX")
  for pkg in "$@"; do
    (cd "$moddir" && go build -trimpath -ldflags="-s $ldflags" -o "$tmp/" "$pkg")
  done
  echo "$stamp" >"$tmp/.stamp"
  if [[ -n $ldflags ]]; then echo "$ldflags" >"$tmp/.ldflags"; fi
  if [[ -d $dest ]]; then
    # Replace file by file with rename(2): processes already running keep
    # their binary, and one starting now finds the old or the new one. The
    # stamps go last, so an interrupted switch is redone by the next run.
    rm -f "$dest/.stamp"
    for f in "$tmp"/*; do mv -f "$f" "$dest/"; done
    rm -f "$dest/.ldflags"
    if [[ -f $tmp/.ldflags ]]; then mv -f "$tmp/.ldflags" "$dest/"; fi
    mv -f "$tmp/.stamp" "$dest/"
    rmdir "$tmp"
  else
    mv "$tmp" "$dest"
  fi
  echo "tools: built $(basename "$dest") in $((SECONDS - start))s: $(ls "$dest" | tr '\n' ' ')"
}

# kube_ldflags prints the -X flags Kubernetes' own build (hack/lib/version.sh)
# sets, for the pinned k8s.io/kubernetes: without them the binaries report
# v0.0.0-master+$Format:%H$, which clients that parse the server's version
# (Kueue's manager) refuse. The commit and date come from the module proxy's
# record of the tag, so the build stays reproducible.
kube_ldflags() {
  local v=$1 info commit date major minor
  info=$(cd "$root/tools/kube" && go mod download -json k8s.io/kubernetes | sed -n 's/.*"Info": "\(.*\)".*/\1/p')
  commit=$(sed -n 's/.*"Hash":"\([0-9a-f]*\)".*/\1/p' "$info")
  date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info")
  major=${v#v}
  major=${major%%.*}
  minor=${v#v*.}
  minor=${minor%%.*}
  local key val out=""
  for kv in "gitVersion=$v" "gitMajor=$major" "gitMinor=$minor" "gitCommit=${commit:-unknown}" \
    "gitTreeState=clean" "buildDate=${date:-1970-01-01T00:00:00Z}"; do
    key=${kv%%=*} val=${kv#*=}
    out+=" -X k8s.io/component-base/version.$key=$val -X k8s.io/client-go/pkg/version.$key=$val"
  done
  echo "${out# }"
}

kube_version=$(version kube k8s.io/kubernetes)
etcd_version=$(version etcd go.etcd.io/etcd/server/v3)
kwok_version=$(version kwok sigs.k8s.io/kwok)
karpenter_version=$(version karpenter-kwok sigs.k8s.io/karpenter)
controllertools_version=$(version codegen sigs.k8s.io/controller-tools)
helm_version=$(version helm helm.sh/helm/v4)
kueue_version=$(version kueue sigs.k8s.io/kueue)

if [[ ${1:-} == --print-dirs ]]; then
  echo "kube=$bindir/kube-$kube_version"
  echo "etcd=$bindir/etcd-$etcd_version"
  echo "kwok=$bindir/kwok-$kwok_version"
  echo "karpenter=$bindir/karpenter-kwok-$karpenter_version"
  echo "codegen=$bindir/controller-tools-$controllertools_version"
  echo "helm=$bindir/helm-$helm_version"
  echo "kueue=$bindir/kueue-$kueue_version"
  exit 0
fi

build "etcd-$etcd_version" etcd .
build "kwok-$kwok_version" kwok sigs.k8s.io/kwok/cmd/kwok
build "karpenter-kwok-$karpenter_version" karpenter-kwok sigs.k8s.io/karpenter/kwok
build "controller-tools-$controllertools_version" codegen sigs.k8s.io/controller-tools/cmd/controller-gen
build "helm-$helm_version" helm helm.sh/helm/v4/cmd/helm
build "kueue-$kueue_version" kueue sigs.k8s.io/kueue/cmd/kueue
LDFLAGS=$(kube_ldflags "$kube_version") build "kube-$kube_version" kube \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kubectl
echo "tools: all binaries are in $bindir"

#!/usr/bin/env bash
# tools.sh builds the binaries sparkplane runs (Kubernetes control plane, kubectl,
# etcd, kwok, Karpenter's kwok provider, controller-gen, helm) from the pinned modules
# under tools/, into $SPARKPLANE_CACHE/bin/<tool>-<version>/.
#
# It is idempotent: a binary whose folder already holds a stamp matching the
# module's go.sum is skipped, so a second run takes seconds.
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
# $bindir/NAME-VERSION unless the stamp there matches the module's go.sum.
build() {
  local dest=$bindir/$1 moddir=$root/tools/$2
  shift 2
  local stamp
  stamp=$(cat "$moddir/go.mod" "$moddir/go.sum" | sha256sum | cut -c1-16)
  if [[ -f $dest/.stamp && $(cat "$dest/.stamp") == "$stamp" ]]; then
    echo "tools: $(basename "$dest") is up to date"
    return
  fi
  echo "tools: building $(basename "$dest") ($*)"
  local start=$SECONDS tmp
  tmp=$(mktemp -d "$bindir/.build.XXXXXX")
  for pkg in "$@"; do
    (cd "$moddir" && go build -trimpath -ldflags=-s -o "$tmp/" "$pkg")
  done
  echo "$stamp" >"$tmp/.stamp"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  echo "tools: built $(basename "$dest") in $((SECONDS - start))s: $(ls "$dest" | tr '\n' ' ')"
}

kube_version=$(version kube k8s.io/kubernetes)
etcd_version=$(version etcd go.etcd.io/etcd/server/v3)
kwok_version=$(version kwok sigs.k8s.io/kwok)
karpenter_version=$(version karpenter-kwok sigs.k8s.io/karpenter)
controllertools_version=$(version codegen sigs.k8s.io/controller-tools)
helm_version=$(version helm helm.sh/helm/v4)

if [[ ${1:-} == --print-dirs ]]; then
  echo "kube=$bindir/kube-$kube_version"
  echo "etcd=$bindir/etcd-$etcd_version"
  echo "kwok=$bindir/kwok-$kwok_version"
  echo "karpenter=$bindir/karpenter-kwok-$karpenter_version"
  echo "codegen=$bindir/controller-tools-$controllertools_version"
  echo "helm=$bindir/helm-$helm_version"
  exit 0
fi

build "etcd-$etcd_version" etcd .
build "kwok-$kwok_version" kwok sigs.k8s.io/kwok/cmd/kwok
build "karpenter-kwok-$karpenter_version" karpenter-kwok sigs.k8s.io/karpenter/kwok
build "controller-tools-$controllertools_version" codegen sigs.k8s.io/controller-tools/cmd/controller-gen
build "helm-$helm_version" helm helm.sh/helm/v4/cmd/helm
build "kube-$kube_version" kube \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kubectl
echo "tools: all binaries are in $bindir"

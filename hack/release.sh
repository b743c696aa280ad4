#!/usr/bin/env bash
# release.sh builds the CLI's release archives (linux and darwin, amd64 and
# arm64; each a tar.gz holding the binary as kubectl-sparkplane, so it is a
# kubectl plugin once on $PATH) into dist/, and the krew plugin manifest for
# them (dist/sparkplane.yaml).
#   VERSION=v0.1.0 URL=https://github.com/sparkplane/sparkplane/releases/download/v0.1.0 hack/release.sh
# PLATFORMS="linux/amd64" limits the platforms built.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${VERSION:?set VERSION, e.g. v0.1.0}
url=${URL:-https://github.com/sparkplane/sparkplane/releases/download/$version}
platforms=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}
rm -rf dist && mkdir -p dist
for platform in $platforms; do
  os=${platform%/*} arch=${platform#*/}
  work=$(mktemp -d)
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags=-s -o "$work/kubectl-sparkplane" ./cmd/sparkplane
  cp README.md "$work/"
  tar -C "$work" -czf "dist/sparkplane_${version}_${os}_${arch}.tar.gz" kubectl-sparkplane README.md
  rm -rf "$work"
done
go run ./hack/krew -version "$version" -url "$url" -o dist/sparkplane.yaml dist/sparkplane_"${version}"_*.tar.gz
echo "dist/sparkplane.yaml"

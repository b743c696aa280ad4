#!/usr/bin/env bash
# generate.sh regenerates what is derived from the API types under api/:
# deepcopy methods (zz_generated.deepcopy.go) and the CRD manifests in
# api/v1alpha1/crds, which the package embeds (see api/v1alpha1/embed.go).
# It runs controller-gen as built by hack/tools.sh (make tools).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${SPARKPLANE_CACHE:-$HOME/.cache/sparkplane}
version=$(cd "$root/tools/codegen" && go list -m -f '{{.Version}}' sigs.k8s.io/controller-tools)
controller_gen=$cache/bin/controller-tools-$version/controller-gen
if [[ ! -x $controller_gen ]]; then
  echo "generate: $controller_gen is missing; run make tools" >&2
  exit 1
fi

cd "$root"
"$controller_gen" object paths=./api/...
# Every API version folder gets its own crds/ folder, written to a temporary
# folder first and then swapped in, so a deleted type does not leave its CRD
# behind and a build running meanwhile never sees an empty folder.
for dir in api/*/; do
  tmp=$(mktemp -d)
  "$controller_gen" crd paths="./$dir..." output:crd:artifacts:config="$tmp"
  mkdir -p "${dir}crds"
  for f in "${dir}"crds/*.yaml; do
    [[ -e $f && ! -e $tmp/$(basename "$f") ]] && rm -f "$f"
  done
  for f in "$tmp"/*.yaml; do
    cmp -s "$f" "${dir}crds/$(basename "$f")" || cp "$f" "${dir}crds/"
  done
  rm -rf "$tmp"
done

#!/usr/bin/env bash
# Builds Knative's own binaries for the Knative end-to-end tests from the vendored sources in
# ../shared/third-party (KNATIVE_SOURCES), offline (`go build -mod=vendor`), into the tools cache
# outside the repository (QPIPE_TOOLS_CACHE, default ~/.cache/qpipe-tools). Each release folder
# holds bin/ (the binaries) and config/ (the CRDs, RBAC, ConfigMaps and Deployments the fixture
# applies, copied unmodified). A folder that is complete is left alone.
#   knative-eventing-<commit>: controller, webhook, mt-channel broker (controller, ingress,
#     filter), in-memory channel (controller, dispatcher), ApiServerSource and PingSource adapters
#   knative-serving-<commit>:  webhook (defaulting and validation of KServices)
# Usage: test/tools/build-knative.sh
set -euo pipefail

EVENTING=knative-eventing-8cf4c4b67
SERVING=knative-serving-98e5ef90aa
here=$(cd "$(dirname "$0")" && pwd)
sources="${KNATIVE_SOURCES:-$here/../../../shared/third-party}"
cache="${QPIPE_TOOLS_CACHE:-$HOME/.cache/qpipe-tools}"
mkdir -p "$cache"
export GOFLAGS="-mod=vendor -buildvcs=false" CGO_ENABLED=0

# build_release RELEASE CMD...: unpack RELEASE's tarball, build each ./cmd/CMD, keep config/.
build_release() {
  local release=$1; shift
  local out="$cache/$release"
  if [ -f "$out/.complete" ]; then echo "== $release: cached at $out"; return; fi
  local tarball="$sources/$release.tar.gz"
  [ -f "$tarball" ] || { echo "missing $tarball (set KNATIVE_SOURCES)" >&2; exit 1; }
  local work; work=$(mktemp -d)
  echo "== building $release in $work"
  tar -xzf "$tarball" -C "$work"
  local src; src=$(echo "$work"/*/)
  rm -rf "$out" && mkdir -p "$out/bin"
  for cmd in "$@"; do
    local started=$SECONDS
    (cd "$src" && go build -trimpath -ldflags='-s -w' -o "$out/bin/${cmd//\//_}" "./cmd/$cmd")
    echo "   ./cmd/$cmd: $((SECONDS - started)) s"
  done
  cp -rL "$src/config" "$out/config"   # -L: some files are links into the rest of the source
  touch "$out/.complete"
  rm -rf "$work"
  echo "== $release built: $out"
}

build_release "$EVENTING" controller webhook mtchannel_broker broker/ingress broker/filter \
  in_memory/channel_controller in_memory/channel_dispatcher apiserver_receive_adapter mtping
build_release "$SERVING" webhook

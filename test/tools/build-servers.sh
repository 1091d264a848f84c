#!/usr/bin/env bash
# Builds the real servers the integration tests run against, from the Go module proxy, into a
# cache outside the repository (QPIPE_TOOLS_CACHE, default ~/.cache/qpipe-tools). Each tool is
# built once per version; a later run finds it and does nothing.
#   kube-apiserver  k8s.io/kubernetes at a release tag, staging modules pinned by replace
#   etcd            go.etcd.io/etcd/server/v3 (the version that kube-apiserver release uses)
#   minio           github.com/minio/minio (the proxy carries only pseudo-versions)
#   promtool        github.com/prometheus/prometheus/cmd/promtool (unit tests of the alert rules)
#   prometheus-operator-crds   the PodMonitor and PrometheusRule CRDs of the Prometheus Operator
#                   (its module's example/prometheus-operator-crd), for server-side dry runs
#   helm            helm.sh/helm/v4/cmd/helm (lint, template, install, upgrade and rollback of the chart)
# Usage: test/tools/build-servers.sh [kube-apiserver|etcd|minio]...   (no argument: all)
set -euo pipefail

KUBE_VERSION=1.36.3
ETCD_VERSION=3.6.8
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
PROMETHEUS_VERSION=v0.316.0
PROMETHEUS_OPERATOR_VERSION=v0.85.0
HELM_VERSION=v4.3.2
cache="${QPIPE_TOOLS_CACHE:-$HOME/.cache/qpipe-tools}"
mkdir -p "$cache"
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0

# build_in_module NAME OUT MODULE@VERSION PACKAGE [replace lines...]   (LDFLAGS: extra -ldflags)
build_in_module() {
  local name=$1 out=$2 require=$3 package=$4; shift 4
  if [ -x "$out" ]; then echo "== $name: cached at $out"; return; fi
  local work; work=$(mktemp -d)
  echo "== building $name ($require) in $work"
  (
    cd "$work"
    go mod init "qpipe.local/tools/$name" >/dev/null 2>&1
    for r in "$@"; do go mod edit -replace "$r"; done
    go get "${require%@*}@${require#*@}" >/dev/null
    go build -trimpath -ldflags="-s -w ${LDFLAGS:-}" -o "$out.tmp" "$package"
    mv "$out.tmp" "$out"
  )
  rm -rf "$work"
  echo "== $name built: $out"
}

kube_apiserver() {
  # The tag's go.mod points every k8s.io staging module at ./staging, which a dependency cannot
  # use: pin each to the published v0.<minor>.<patch> instead.
  local mod replaces=()
  mod=$(curl -fsS "$(go env GOPROXY | cut -d, -f1)/k8s.io/kubernetes/@v/v$KUBE_VERSION.mod" 2>/dev/null ||
    (cd "$(mktemp -d)" && go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' | xargs cat))
  while read -r m; do replaces+=("$m=$m@v0.${KUBE_VERSION#1.}"); done \
    < <(printf '%s\n' "$mod" | sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p')
  # A release's version stamp: without it /version says "v0.0.0-master+$Format:%H$", which
  # Knative's controllers (knative.dev/pkg's minimum-version check) cannot parse, and exit.
  local v=k8s.io/component-base/version
  LDFLAGS="-X $v.gitVersion=v$KUBE_VERSION -X $v.gitMajor=${KUBE_VERSION%%.*} -X $v.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2) -X $v.gitTreeState=clean" \
    build_in_module kube-apiserver "$cache/kube-apiserver-v$KUBE_VERSION" "k8s.io/kubernetes@v$KUBE_VERSION" \
    k8s.io/kubernetes/cmd/kube-apiserver "${replaces[@]}"
}

etcd() {
  build_in_module etcd "$cache/etcd-$ETCD_VERSION" "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" go.etcd.io/etcd/server/v3 \
    "go.etcd.io/etcd/api/v3=go.etcd.io/etcd/api/v3@v$ETCD_VERSION" \
    "go.etcd.io/etcd/client/pkg/v3=go.etcd.io/etcd/client/pkg/v3@v$ETCD_VERSION" \
    "go.etcd.io/etcd/client/v3=go.etcd.io/etcd/client/v3@v$ETCD_VERSION" \
    "go.etcd.io/etcd/pkg/v3=go.etcd.io/etcd/pkg/v3@v$ETCD_VERSION"
}

minio() {
  build_in_module minio "$cache/minio-$MINIO_VERSION" "github.com/minio/minio@$MINIO_VERSION" github.com/minio/minio
}

promtool() {
  build_in_module promtool "$cache/promtool-$PROMETHEUS_VERSION" "github.com/prometheus/prometheus@$PROMETHEUS_VERSION" \
    github.com/prometheus/prometheus/cmd/promtool
}

prometheus_operator_crds() {
  local out="$cache/prometheus-operator-crds-$PROMETHEUS_OPERATOR_VERSION"
  if [ -d "$out" ]; then echo "== prometheus-operator-crds: cached at $out"; return; fi
  local dir
  dir=$(cd "$(mktemp -d)" && go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
    sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$out.tmp"
  cp "$dir"/example/prometheus-operator-crd/*.yaml "$out.tmp/"
  mv "$out.tmp" "$out"
  echo "== prometheus-operator-crds: $out"
}

helm() {
  local v=helm.sh/helm/v4/internal/version
  LDFLAGS="-X $v.version=$HELM_VERSION -X $v.gitTreeState=clean" \
    build_in_module helm "$cache/helm-$HELM_VERSION" "helm.sh/helm/v4@$HELM_VERSION" helm.sh/helm/v4/cmd/helm
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(etcd kube-apiserver minio promtool prometheus-operator-crds helm)
for t in "${tools[@]}"; do
  case "$t" in
    kube-apiserver) kube_apiserver ;;
    etcd) etcd ;;
    minio) minio ;;
    promtool) promtool ;;
    prometheus-operator-crds) prometheus_operator_crds ;;
    helm) helm ;;
    *) echo "unknown tool: $t" >&2; exit 2 ;;
  esac
done

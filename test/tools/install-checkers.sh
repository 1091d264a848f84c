#!/usr/bin/env bash
# Installs the template checkers the AWS packaging test runs, from PyPI, into a virtual
# environment in the tools cache (QPIPE_TOOLS_CACHE, default ~/.cache/qpipe-tools): checkov
# and cfn-lint, pinned. A later run finds them (the stamp file) and does nothing.
set -euo pipefail
CHECKOV_VERSION=3.3.30
CFN_LINT_VERSION=1.51.0
cache="${QPIPE_TOOLS_CACHE:-$HOME/.cache/qpipe-tools}"
venv="$cache/checkers-$CHECKOV_VERSION"
if [ ! -f "$venv/installed" ]; then
  echo "== installing checkov $CHECKOV_VERSION and cfn-lint $CFN_LINT_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "checkov==$CHECKOV_VERSION" "cfn-lint==$CFN_LINT_VERSION"
  touch "$venv/installed"
fi
echo "== checkers in $venv"

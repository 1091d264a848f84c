#!/usr/bin/env bash
# Installs the Python tools the tests run, from PyPI, pinned, into a virtual environment in
# the tools cache (QPIPE_TOOLS_CACHE, default ~/.cache/qpipe-tools): checkov and cfn-lint for
# the packaged CloudFormation template, and moto's server (AWS API emulation: SQS and
# EventBridge) for dead-letter replay. A later run finds them (the stamp file) and does nothing.
set -euo pipefail
CHECKOV_VERSION=3.3.30
CFN_LINT_VERSION=1.51.0
MOTO_VERSION=5.2.5
cache="${QPIPE_TOOLS_CACHE:-$HOME/.cache/qpipe-tools}"
venv="$cache/python-tools-1"
if [ ! -f "$venv/installed" ]; then
  echo "== installing checkov $CHECKOV_VERSION, cfn-lint $CFN_LINT_VERSION, moto $MOTO_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "checkov==$CHECKOV_VERSION" "cfn-lint==$CFN_LINT_VERSION" "moto[server]==$MOTO_VERSION"
  touch "$venv/installed"
fi
echo "== python tools in $venv"

#!/usr/bin/env bash
# The reference environment: the tools qpipe's results are checked against (Qiskit's loaders
# and transpiler, Qiskit Aer, IBM's fake backends with real device targets, Braket's local
# simulator and its own OpenQASM 3 parser), pinned, from PyPI, into a virtual environment in
# the tools cache (QPIPE_TOOLS_CACHE, default ~/.cache/qpipe-tools). Used by the test setup
# and the benchmark; a later run finds it (the stamp file) and does nothing. Prints its path.
set -euo pipefail
QISKIT_VERSION=2.6.2
QISKIT_AER_VERSION=0.18.2
QISKIT_QASM3_IMPORT_VERSION=0.6.0
QISKIT_IBM_RUNTIME_VERSION=0.51.0
BRAKET_SIMULATOR_VERSION=1.41.2
cache="${QPIPE_TOOLS_CACHE:-$HOME/.cache/qpipe-tools}"
venv="$cache/reference-env-1"
if [ ! -f "$venv/installed" ]; then
  echo "== installing the reference environment into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q \
    "qiskit==$QISKIT_VERSION" "qiskit-aer==$QISKIT_AER_VERSION" \
    "qiskit-qasm3-import==$QISKIT_QASM3_IMPORT_VERSION" "qiskit-ibm-runtime==$QISKIT_IBM_RUNTIME_VERSION" \
    "amazon-braket-default-simulator==$BRAKET_SIMULATOR_VERSION"
  touch "$venv/installed"
fi
echo "$venv"

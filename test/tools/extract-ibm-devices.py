"""Writes shared/backends/ibm/devices/<name>.json from the device snapshots that ship with
qiskit-ibm-runtime's fake backends (run with the reference environment's python:
~/.cache/qpipe-tools/reference-env-1/bin/python test/tools/extract-ibm-devices.py).
Each file keeps what transpilation needs (qubits, basis gates, directed two-qubit couplings)
and says where and when it came from."""
import json
import pathlib
import sys

import qiskit_ibm_runtime
from qiskit_ibm_runtime.fake_provider import FakeBrisbane, FakeFez, FakeSherbrooke, FakeTorino

OUT = pathlib.Path(__file__).resolve().parents[2] / "shared" / "backends" / "ibm" / "devices"
PROCESSORS = {"FakeTorino": "Heron r1", "FakeFez": "Heron r2", "FakeBrisbane": "Eagle r3", "FakeSherbrooke": "Eagle r3"}

for fake in (FakeTorino, FakeFez, FakeBrisbane, FakeSherbrooke):
    backend = fake()
    target = backend.target
    two_qubit = [g for g in ("cz", "ecr", "cx") if g in target.operation_names]
    gate = two_qubit[0]
    couplings = sorted([list(q) for q in target[gate].keys()])
    props = backend.properties()
    basis = sorted(n for n in target.operation_names if n not in ("measure", "delay", "reset", "if_else", "while_loop", "for_loop", "switch_case", "barrier"))
    doc = {
        "name": backend.name.replace("fake_", "ibm_"),
        "processor": PROCESSORS[fake.__name__],
        "qubits": backend.num_qubits,
        "basisGates": basis,
        "twoQubitGate": gate,
        "couplingMap": couplings,
        "source": f"qiskit-ibm-runtime {qiskit_ibm_runtime.__version__} {fake.__name__} "
        f"(backend_version {backend.backend_version}, calibration {props.last_update_date.date().isoformat() if props else 'unknown'})",
    }
    path = OUT / f"{doc['name']}.json"
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(path.name, doc["qubits"], gate, len(couplings), doc["source"], file=sys.stderr)

"""Qiskit as the judge of qpipe's transpiler (run by test/support/reference.ts in the
reference environment).

Reads a JSON list on stdin: {id, path, device, transpiled, final}, where `transpiled` is
qpipe's OpenQASM 3 on physical qubits for the fake backend of `device` (ibm_torino:
FakeTorino, ibm_brisbane: FakeBrisbane, ...) and `final` the physical qubit each of the
circuit's qubits ends on. Writes one JSON object per case:
- isa: every instruction is supported by the backend's Target on those qubits (problem names the first that is not);
- distance: 1 - |<source|transpiled>| of Aer statevectors, the transpiled state read on the
  active physical qubits through the final layout (null when too large to simulate);
- qiskitTwoQubit, qiskitMs: two-qubit gates after qiskit.transpile(optimization_level=1,
  seed_transpiler=0) on the same backend, and the time it took.
"""
import json
import sys
import time

import numpy as np
import qiskit.qasm3
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime import fake_provider
from qasm_files import load

MAX_QUBITS = 18
BACKENDS = {}


def backend_of(device):
    if device not in BACKENDS:
        name = "Fake" + device.removeprefix("ibm_").capitalize()
        BACKENDS[device] = getattr(fake_provider, name)()
    return BACKENDS[device]


def unitary_part(circuit, keep=None):
    """The circuit without measurements and barriers, on `keep` (old index -> new) when given."""
    width = circuit.num_qubits if keep is None else len(keep)
    out = QuantumCircuit(width)
    for instruction in circuit.data:
        if instruction.operation.name in ("measure", "barrier"):
            continue
        qubits = [circuit.find_bit(q).index for q in instruction.qubits]
        out.append(instruction.operation, [q if keep is None else keep[q] for q in qubits])
    return out


def statevector(circuit):
    simulator = AerSimulator(method="statevector")
    # User-defined gates (majority, cH, ...) in Aer's own instructions first.
    circuit = transpile(circuit, simulator, optimization_level=0)
    circuit.save_statevector()
    result = simulator.run(circuit).result()
    return np.asarray(result.get_statevector())


def judge(case):
    backend = backend_of(case["device"])
    target = backend.target
    ours = qiskit.qasm3.loads(case["transpiled"])
    verdict = {"id": case["id"], "isa": True}
    for instruction in ours.data:
        name = instruction.operation.name
        if name == "barrier":
            continue
        qargs = tuple(ours.find_bit(q).index for q in instruction.qubits)
        if not target.instruction_supported(name, qargs):
            verdict["isa"] = False
            verdict["problem"] = f"{name} on {qargs} is not in {case['device']}'s target"
            break

    try:
        source = load(case["path"])
    except Exception as error:
        return {"id": case["id"], "unloadable": f"{type(error).__name__}: {error}"}
    started = time.perf_counter()
    theirs = transpile(source, backend=backend, optimization_level=1, seed_transpiler=0)
    verdict["qiskitMs"] = (time.perf_counter() - started) * 1000
    verdict["qiskitTwoQubit"] = sum(1 for i in theirs.data if i.operation.num_qubits == 2 and i.operation.name != "barrier")

    # Equivalence: the active physical qubits (the layout's and every gate's), compacted.
    final = case["final"]
    active = set(final)
    for instruction in ours.data:
        active.update(ours.find_bit(q).index for q in instruction.qubits)
    active = sorted(active)
    verdict["distance"] = None
    if len(active) <= MAX_QUBITS:
        keep = {p: i for i, p in enumerate(active)}
        want = statevector(unitary_part(source))
        got = statevector(unitary_part(ours, keep))
        # Source basis state i sits at the index whose bit keep[final[l]] is bit l of i.
        index = np.zeros(len(want), dtype=np.int64)
        for l, p in enumerate(final):
            index |= ((np.arange(len(want)) >> l) & 1) << keep[p]
        verdict["distance"] = float(1 - abs(np.vdot(want, got[index])))
    return verdict


for case in json.load(sys.stdin):
    try:
        print(json.dumps(judge(case)), flush=True)
    except Exception as error:  # a case Qiskit cannot handle is reported, not fatal
        print(json.dumps({"id": case["id"], "error": f"{type(error).__name__}: {error}"}), flush=True)

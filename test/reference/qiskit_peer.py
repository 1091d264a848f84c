"""What Qiskit says about OpenQASM files: the reference qpipe's front end and simulator are
checked against (run by test/support/reference.ts in the reference environment).

Reads a JSON list of paths on stdin; writes one JSON object per path on stdout:
{path, qubits, clbits, depth, ops, probabilities} or {path, error}. Probabilities are of the
classical bits, in Qiskit's bit order (clbit 0 rightmost, registers without spaces), from
Aer's statevector, for circuits whose measurements are all at the end; null otherwise.
"""
import json
import sys

from qiskit import transpile
from qiskit_aer import AerSimulator
from qasm_files import load

MAX_QUBITS = 20


def terminal_measurements(circuit):
    """clbit -> qubit of measurements after which their qubit is not touched; None if any is not."""
    measured = {}
    done = set()
    for instruction in circuit.data:
        qubits = [circuit.find_bit(q).index for q in instruction.qubits]
        name = instruction.operation.name
        if name == "barrier":
            continue
        if getattr(instruction.operation, "condition", None) is not None or name in ("if_else", "while_loop", "for_loop", "switch_case", "reset"):
            return None
        if name == "measure":
            measured[circuit.find_bit(instruction.clbits[0]).index] = qubits[0]
            done.add(qubits[0])
        elif any(q in done for q in qubits):
            return None
    return measured


def probabilities(circuit):
    if circuit.num_qubits > MAX_QUBITS:
        return None
    measured = terminal_measurements(circuit)
    if measured is None:
        return None
    unitary_part = circuit.remove_final_measurements(inplace=False)
    unitary_part.save_statevector()
    # Into Aer's basis without optimisation: the state is unchanged, and Aer runs every gate.
    simulator = AerSimulator(method="statevector")
    runnable = transpile(unitary_part, simulator, optimization_level=0)
    state = simulator.run(runnable).result().get_statevector()
    qargs = sorted(set(measured.values()))
    position = {q: i for i, q in enumerate(qargs)}
    result = {}
    for outcome, p in state.probabilities_dict(qargs=qargs).items():
        if p < 1e-15:
            continue
        bits = ["0"] * circuit.num_clbits
        for clbit, qubit in measured.items():
            bits[circuit.num_clbits - 1 - clbit] = outcome[len(qargs) - 1 - position[qubit]]
        key = "".join(bits)
        result[key] = result.get(key, 0.0) + p
    return result


def describe(path):
    try:
        circuit = load(path)
    except Exception as error:  # noqa: BLE001 - every loader error is a verdict, not a crash
        return {"path": path, "error": f"{type(error).__name__}: {error}"[:300]}
    try:
        distribution = probabilities(circuit)
    except Exception as error:  # noqa: BLE001 - reported for the file, the others go on
        return {"path": path, "error": f"Aer: {type(error).__name__}: {error}"[:300]}
    return {
        "path": path,
        "qubits": circuit.num_qubits,
        "clbits": circuit.num_clbits,
        "depth": circuit.depth(),
        "ops": dict(circuit.count_ops()),
        "probabilities": distribution,
    }


for path in json.load(sys.stdin):
    print(json.dumps(describe(path)), flush=True)

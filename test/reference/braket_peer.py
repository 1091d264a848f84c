"""What Braket's own local simulator (amazon-braket-default-simulator: its OpenQASM 3 parser
and state-vector simulator) makes of the programs qpipe would send to Braket devices.

Reads a JSON list of {id, source} on stdin; writes one JSON object per program on stdout:
{id, probabilities} (of the classical bits, Qiskit's order: clbit 0 rightmost) or {id, error}.
Measurements are read from the program's `c[b] = measure q[k];` lines and replaced by a
probability result, so the distribution is exact (shots=0).
"""
import json
import re
import sys

from braket.default_simulator import StateVectorSimulator
from braket.ir.openqasm import Program

MEASURE = re.compile(r"^c\[(\d+)\] = measure q\[(\d+)\];$")
simulator = StateVectorSimulator()


def probabilities(source):
    lines = source.splitlines()
    measured = {}
    kept = []
    for line in lines:
        match = MEASURE.match(line)
        if match:
            measured[int(match.group(1))] = int(match.group(2))
        else:
            kept.append(line)
    clbits = int(re.search(r"^bit\[(\d+)\] c;$", source, re.M).group(1))
    qubits = int(re.search(r"^qubit\[(\d+)\] q;$", source, re.M).group(1))
    # Every qubit named: Braket's simulator leaves out qubits no gate touches unless asked for them.
    kept.append("#pragma braket result probability " + ", ".join(f"q[{k}]" for k in range(qubits)))
    result = simulator.run_openqasm(Program(source="\n".join(kept) + "\n"), shots=0)
    vector = result.resultTypes[0].value
    out = {}
    for index, p in enumerate(vector):
        if p < 1e-15:
            continue
        # Braket's basis order: qubit 0 is the most significant bit.
        bits = ["0"] * clbits
        for clbit, qubit in measured.items():
            bits[clbits - 1 - clbit] = str((index >> (qubits - 1 - qubit)) & 1)
        key = "".join(bits)
        out[key] = out.get(key, 0.0) + float(p)
    return out


for request in json.load(sys.stdin):
    try:
        print(json.dumps({"id": request["id"], "probabilities": probabilities(request["source"])}), flush=True)
    except Exception as error:  # noqa: BLE001 - a refusal is the verdict for that program
        print(json.dumps({"id": request["id"], "error": f"{type(error).__name__}: {error}"[:400]}), flush=True)

"""Qiskit Aer's statevector simulator on one OpenQASM 2 file, for `npm run bench`: the time
to import Qiskit and Aer, and the time of the run itself in process (after import), with
fusion on and off, on the given number of threads. Prints one JSON object.

Usage: aer_bench.py <file.qasm> <threads> [shots]
With shots, the circuit is sampled (its measurements kept); without, its final state is saved.
"""
import json
import sys
import time

started = time.perf_counter()
import qiskit.qasm2  # noqa: E402
from qiskit_aer import AerSimulator  # noqa: E402

import_ms = (time.perf_counter() - started) * 1000

path, threads = sys.argv[1], int(sys.argv[2])
shots = int(sys.argv[3]) if len(sys.argv) > 3 else 0
with open(path, encoding="utf-8") as f:
    circuit = qiskit.qasm2.loads(f.read(), custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
if shots == 0:
    circuit = circuit.remove_final_measurements(inplace=False)
    circuit.save_statevector()


def run(fusion):
    simulator = AerSimulator(method="statevector", max_parallel_threads=threads, fusion_enable=fusion)
    at = time.perf_counter()
    simulator.run(circuit, shots=max(shots, 1), seed_simulator=1).result()
    return (time.perf_counter() - at) * 1000


# One small warm-up run so the figures do not include Aer's first-call set-up (qpipe's
# figures come from a process that has already simulated other circuits).
run(True)
print(json.dumps({"importMs": import_ms, "fusionMs": run(True), "noFusionMs": run(False)}))

"""Loading an OpenQASM file into Qiskit, as the reference peers all do."""
import qiskit.qasm2
import qiskit.qasm3


def load(path):
    """The circuit of an OpenQASM 2 or 3 file, with qelib1.inc's legacy gates for version 2."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    if "OPENQASM 2" in source:
        return qiskit.qasm2.loads(source, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    return qiskit.qasm3.loads(source)

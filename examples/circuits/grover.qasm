// Grover search over 2 qubits for the marked state |11>: one iteration finds it with certainty.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q;
// Oracle: phase-flip |11>.
cz q[0], q[1];
// Diffusion.
h q;
x q;
cz q[0], q[1];
x q;
h q;
measure q -> c;

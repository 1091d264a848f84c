// A hardware-efficient VQE ansatz on 4 qubits: ry layers and a CNOT ladder, with the
// rotation angles theta = (0.2, 1.1, 0.7, 2.3) written out (an optimiser would rewrite
// them each round).
OPENQASM 3.0;
include "stdgates.inc";
qubit[4] q;
bit[4] c;
ry(0.2) q[0];
ry(1.1) q[1];
ry(0.7) q[2];
ry(2.3) q[3];
cx q[0], q[1];
cx q[1], q[2];
cx q[2], q[3];
ry(0.2 / 2) q[0];
ry(1.1 / 2) q[1];
ry(0.7 / 2) q[2];
ry(2.3 / 2) q[3];
c = measure q;

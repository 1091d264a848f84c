// A hardware-efficient VQE ansatz on 4 qubits: ry layers and a CNOT ladder, with the
// rotation angles as OpenQASM 3 constants (an optimiser would rewrite them each round).
OPENQASM 3.0;
include "stdgates.inc";
const float theta0 = 0.2;
const float theta1 = 1.1;
const float theta2 = 0.7;
const float theta3 = 2.3;
qubit[4] q;
bit[4] c;
ry(theta0) q[0];
ry(theta1) q[1];
ry(theta2) q[2];
ry(theta3) q[3];
cx q[0], q[1];
cx q[1], q[2];
cx q[2], q[3];
ry(theta0 / 2) q[0];
ry(theta1 / 2) q[1];
ry(theta2 / 2) q[2];
ry(theta3 / 2) q[3];
c = measure q;

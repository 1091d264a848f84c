// Quantum teleportation of ry(1.2)|0> from q[0] to q[2], with classically controlled
// corrections. The teleported qubit reads 1 with probability sin^2(0.6) ~= 0.3188,
// whatever the two measured bits.
OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit m0;
bit m1;
bit result;
ry(1.2) q[0];
h q[1];
cx q[1], q[2];
cx q[0], q[1];
h q[0];
m0 = measure q[0];
m1 = measure q[1];
if (m1 == true) x q[2];
if (m0 == true) z q[2];
result = measure q[2];

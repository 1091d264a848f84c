// Bernstein-Vazirani with the hidden string s = 1011: one query reads s with certainty.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[4];
qreg anc[1];
creg c[4];
x anc[0];
h anc[0];
h q;
// Oracle for s = 1011 (q[0], q[1] and q[3] are 1).
cx q[0], anc[0];
cx q[1], anc[0];
cx q[3], anc[0];
h q;
measure q -> c;

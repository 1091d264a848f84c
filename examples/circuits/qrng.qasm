// Quantum random number generator: 8 uniformly random bits.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[8];
creg c[8];
h q;
measure q -> c;

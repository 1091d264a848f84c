// Quantum Fourier transform of |5> on 4 qubits, then the inverse QFT: reads 0101 always.
OPENQASM 3.0;
include "stdgates.inc";
qubit[4] q;
bit[4] c;
// Prepare |5> = |0101> (qubit 0 is the least significant bit).
x q[0];
x q[2];
// QFT: on each qubit from the most significant, h then controlled phases pi/2^(j-k).
h q[3];
cp(pi / 2) q[2], q[3];
cp(pi / 4) q[1], q[3];
cp(pi / 8) q[0], q[3];
h q[2];
cp(pi / 2) q[1], q[2];
cp(pi / 4) q[0], q[2];
h q[1];
cp(pi / 2) q[0], q[1];
h q[0];
// Inverse QFT: the same gates, inverted, in reverse order.
h q[0];
cp(-pi / 2) q[0], q[1];
h q[1];
cp(-pi / 4) q[0], q[2];
cp(-pi / 2) q[1], q[2];
h q[2];
cp(-pi / 8) q[0], q[3];
cp(-pi / 4) q[1], q[3];
cp(-pi / 2) q[2], q[3];
h q[3];
c = measure q;

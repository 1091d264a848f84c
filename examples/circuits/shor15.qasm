// Shor's algorithm for N = 15 with a = 7 (the compiled circuit of Vandersypen et al. 2001
// style, 3 counting qubits and 4 work qubits). The counting register reads 0, 2, 4 or 6
// (order r = 4), each with probability 1/4.
OPENQASM 2.0;
include "qelib1.inc";
qreg c[3];
qreg w[4];
creg m[3];
// Work register starts in |1>.
x w[0];
h c;
// Controlled multiplication by 7^(2^k) mod 15. For k >= 2, 7^4 = 1 mod 15: identity.
// k = 0: multiply by 7 (a permutation of the work register), controlled on c[0].
cswap c[0], w[2], w[3];
cswap c[0], w[1], w[2];
cswap c[0], w[0], w[1];
cx c[0], w[0];
cx c[0], w[1];
cx c[0], w[2];
cx c[0], w[3];
// k = 1: multiply by 7^2 = 4 mod 15 (a cyclic shift by two), controlled on c[1].
cswap c[1], w[1], w[3];
cswap c[1], w[0], w[2];
// Inverse QFT on the counting register (c[0] least significant).
h c[2];
cu1(-pi/2) c[1], c[2];
h c[1];
cu1(-pi/4) c[0], c[2];
cu1(-pi/2) c[0], c[1];
h c[0];
swap c[0], c[2];
measure c -> m;

// Quantum Fourier transform of |5> on 4 qubits, then the inverse QFT: reads 0101 always.
OPENQASM 3.0;
include "stdgates.inc";
const int n = 4;
qubit[n] q;
bit[n] c;
// Prepare |5> = |0101> (qubit 0 is the least significant bit).
x q[0];
x q[2];
// QFT.
for int j in [n - 1:-1:0] {
  h q[j];
  for int k in [j - 1:-1:0] {
    cp(pi / 2 ** (j - k)) q[k], q[j];
  }
}
// Inverse QFT.
for int j in [0:n - 1] {
  for int k in [0:j - 1] {
    cp(-pi / 2 ** (j - k)) q[k], q[j];
  }
  h q[j];
}
c = measure q;

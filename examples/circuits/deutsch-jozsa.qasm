// Deutsch-Jozsa on 3 input qubits with a balanced oracle f(x) = x0 XOR x1 XOR x2:
// the input register never reads 000 (it reads 111).
OPENQASM 2.0;
include "qelib1.inc";
qreg data[3];
qreg target[1];
creg c[3];
gate balanced_oracle a, b, d, t {
  cx a, t;
  cx b, t;
  cx d, t;
}
x target[0];
h target[0];
h data;
balanced_oracle data[0], data[1], data[2], target[0];
h data;
measure data -> c;

// Deutsch-Jozsa on 3 input qubits with a balanced oracle f(x) = x0 XOR x1 XOR x2:
// the input register never reads 000 (it reads 111).
OPENQASM 2.0;
include "qelib1.inc";
qreg x[3];
qreg y[1];
creg c[3];
gate balanced_oracle a, b, c, t {
  cx a, t;
  cx b, t;
  cx c, t;
}
x y[0];
h y[0];
h x;
balanced_oracle x[0], x[1], x[2], y[0];
h x;
measure x -> c;

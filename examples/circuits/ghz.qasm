// GHZ state on 5 qubits: only 00000 and 11111.
OPENQASM 3.0;
include "stdgates.inc";
qubit[5] q;
bit[5] c;
h q[0];
for int i in [0:3] {
  cx q[i], q[i + 1];
}
c = measure q;

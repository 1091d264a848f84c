/**
 * The built-in gates of qelib1.inc (OpenQASM 2) and stdgates.inc (OpenQASM 3), with
 * Qiskit's matrix conventions. A gate is a base unitary on its last `targets` qubits,
 * controlled by its first `controls` qubits.
 */
import { diagonal, fromRows, type Matrix, phase, scale } from './matrix.ts';

/** A built-in gate: how many parameters and qubits it takes, and its unitary. */
export interface BuiltinGate {
  readonly params: number;
  /** Leading qubits that act as controls. */
  readonly controls: number;
  /** Trailing qubits the base matrix acts on. */
  readonly targets: number;
  readonly matrix: (params: readonly number[]) => Matrix;
}

const H = Math.SQRT1_2;
const constant = (m: Matrix) => () => m;

/** OpenQASM's U(θ, φ, λ) (OpenQASM 3 / Qiskit convention). */
export function u3(theta: number, phi: number, lambda: number): Matrix {
  const c = Math.cos(theta / 2);
  const s = Math.sin(theta / 2);
  // Built directly: this runs once per parametrised gate in the program.
  return new Float64Array([
    c,
    0,
    -Math.cos(lambda) * s,
    -Math.sin(lambda) * s,
    Math.cos(phi) * s,
    Math.sin(phi) * s,
    Math.cos(phi + lambda) * c,
    Math.sin(phi + lambda) * c,
  ]);
}

const X = fromRows([
  [
    [0, 0],
    [1, 0],
  ],
  [
    [1, 0],
    [0, 0],
  ],
]);
const Y = fromRows([
  [
    [0, 0],
    [0, -1],
  ],
  [
    [0, 1],
    [0, 0],
  ],
]);
const Z = diagonal([
  [1, 0],
  [-1, 0],
]);
const HADAMARD = fromRows([
  [
    [H, 0],
    [H, 0],
  ],
  [
    [H, 0],
    [-H, 0],
  ],
]);
const SX = fromRows([
  [
    [0.5, 0.5],
    [0.5, -0.5],
  ],
  [
    [0.5, -0.5],
    [0.5, 0.5],
  ],
]);
const SXDG = fromRows([
  [
    [0.5, -0.5],
    [0.5, 0.5],
  ],
  [
    [0.5, 0.5],
    [0.5, -0.5],
  ],
]);
const I2 = diagonal([
  [1, 0],
  [1, 0],
]);
const SWAP = fromRows([
  [
    [1, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ],
  [
    [0, 0],
    [0, 0],
    [1, 0],
    [0, 0],
  ],
  [
    [0, 0],
    [1, 0],
    [0, 0],
    [0, 0],
  ],
  [
    [0, 0],
    [0, 0],
    [0, 0],
    [1, 0],
  ],
]);
const ISWAP = fromRows([
  [
    [1, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ],
  [
    [0, 0],
    [0, 0],
    [0, 1],
    [0, 0],
  ],
  [
    [0, 0],
    [0, 1],
    [0, 0],
    [0, 0],
  ],
  [
    [0, 0],
    [0, 0],
    [0, 0],
    [1, 0],
  ],
]);

const p = (lambda: number) => new Float64Array([1, 0, 0, 0, 0, 0, Math.cos(lambda), Math.sin(lambda)]);
const rx = (t: number) => {
  const c = Math.cos(t / 2);
  const s = Math.sin(t / 2);
  return new Float64Array([c, 0, 0, -s, 0, -s, c, 0]);
};
const ry = (t: number) => {
  const c = Math.cos(t / 2);
  const s = Math.sin(t / 2);
  return new Float64Array([c, 0, -s, 0, s, 0, c, 0]);
};
const rz = (t: number) =>
  new Float64Array([Math.cos(t / 2), -Math.sin(t / 2), 0, 0, 0, 0, Math.cos(t / 2), Math.sin(t / 2)]);

/** exp(−i·θ/2 · P⊗P) for a two-qubit Pauli product, from its ±1 eigen-structure. */
function pauliRotation(pauli: Matrix, theta: number): Matrix {
  const kron = kronecker(pauli, pauli);
  const c = Math.cos(theta / 2);
  const s = Math.sin(theta / 2);
  // cos(θ/2)·I − i·sin(θ/2)·P⊗P
  const out = scale(kron, [0, -s]);
  for (let i = 0; i < 4; i++) out[2 * (i * 4 + i)] = (out[2 * (i * 4 + i)] as number) + c;
  return out;
}

/** a ⊗ b with b on the low bit: (a ⊗ b)[(i1 i0),(j1 j0)] = a[i1,j1]·b[i0,j0]. */
export function kronecker(a: Matrix, b: Matrix): Matrix {
  const da = Math.round(Math.sqrt(a.length / 2));
  const db = Math.round(Math.sqrt(b.length / 2));
  const d = da * db;
  const out = new Float64Array(2 * d * d);
  for (let ar = 0; ar < da; ar++)
    for (let ac = 0; ac < da; ac++)
      for (let br = 0; br < db; br++)
        for (let bc = 0; bc < db; bc++) {
          const xr = a[2 * (ar * da + ac)] as number;
          const xi = a[2 * (ar * da + ac) + 1] as number;
          const yr = b[2 * (br * db + bc)] as number;
          const yi = b[2 * (br * db + bc) + 1] as number;
          const idx = 2 * ((ar * db + br) * d + (ac * db + bc));
          out[idx] = xr * yr - xi * yi;
          out[idx + 1] = xr * yi + xi * yr;
        }
  return out;
}

const one = (matrix: (params: readonly number[]) => Matrix, params = 0): BuiltinGate => ({
  params,
  controls: 0,
  targets: 1,
  matrix,
});
const controlled = (controls: number, base: BuiltinGate): BuiltinGate => ({ ...base, controls });
const arg = (params: readonly number[], i: number) => params[i] as number;

const CONTROLLED_PHASE = controlled(
  1,
  one((a) => p(arg(a, 0)), 1),
);

const BUILTINS: Record<string, BuiltinGate> = {
  U: one((a) => u3(arg(a, 0), arg(a, 1), arg(a, 2)), 3),
  u3: one((a) => u3(arg(a, 0), arg(a, 1), arg(a, 2)), 3),
  u: one((a) => u3(arg(a, 0), arg(a, 1), arg(a, 2)), 3),
  u2: one((a) => u3(Math.PI / 2, arg(a, 0), arg(a, 1)), 2),
  u1: one((a) => p(arg(a, 0)), 1),
  p: one((a) => p(arg(a, 0)), 1),
  phase: one((a) => p(arg(a, 0)), 1),
  u0: one(constant(I2), 1),
  id: one(constant(I2)),
  x: one(constant(X)),
  y: one(constant(Y)),
  z: one(constant(Z)),
  h: one(constant(HADAMARD)),
  s: one(constant(p(Math.PI / 2))),
  sdg: one(constant(p(-Math.PI / 2))),
  t: one(constant(p(Math.PI / 4))),
  tdg: one(constant(p(-Math.PI / 4))),
  sx: one(constant(SX)),
  sxdg: one(constant(SXDG)),
  rx: one((a) => rx(arg(a, 0)), 1),
  ry: one((a) => ry(arg(a, 0)), 1),
  rz: one((a) => rz(arg(a, 0)), 1),
  CX: controlled(1, one(constant(X))),
  cx: controlled(1, one(constant(X))),
  cy: controlled(1, one(constant(Y))),
  cz: controlled(1, one(constant(Z))),
  ch: controlled(1, one(constant(HADAMARD))),
  csx: controlled(1, one(constant(SX))),
  // One gate under the names of both libraries (stdgates.inc, qelib1.inc) and Qiskit's exporter.
  cp: CONTROLLED_PHASE,
  cphase: CONTROLLED_PHASE,
  cu1: CONTROLLED_PHASE,
  crx: controlled(
    1,
    one((a) => rx(arg(a, 0)), 1),
  ),
  cry: controlled(
    1,
    one((a) => ry(arg(a, 0)), 1),
  ),
  crz: controlled(
    1,
    one((a) => rz(arg(a, 0)), 1),
  ),
  cu3: controlled(
    1,
    one((a) => u3(arg(a, 0), arg(a, 1), arg(a, 2)), 3),
  ),
  // Qiskit's CUGate: controlled e^{iγ}·U(θ, φ, λ).
  cu: controlled(
    1,
    one((a) => scale(u3(arg(a, 0), arg(a, 1), arg(a, 2)), phase(arg(a, 3))), 4),
  ),
  swap: { params: 0, controls: 0, targets: 2, matrix: constant(SWAP) },
  iswap: { params: 0, controls: 0, targets: 2, matrix: constant(ISWAP) },
  rxx: { params: 1, controls: 0, targets: 2, matrix: (a) => pauliRotation(X, arg(a, 0)) },
  ryy: { params: 1, controls: 0, targets: 2, matrix: (a) => pauliRotation(Y, arg(a, 0)) },
  rzz: { params: 1, controls: 0, targets: 2, matrix: (a) => pauliRotation(Z, arg(a, 0)) },
  ccx: controlled(2, one(constant(X))),
  cswap: { params: 0, controls: 1, targets: 2, matrix: constant(SWAP) },
  c3x: controlled(3, one(constant(X))),
  c4x: controlled(4, one(constant(X))),
  c3sqrtx: controlled(3, one(constant(SX))),
};

// A Map, since lookups on a large object literal are slow before the JIT warms up.
const BUILTIN_BY_NAME = new Map(Object.entries(BUILTINS));

/** Looks up a built-in gate by name. */
export function builtinGate(name: string): BuiltinGate | undefined {
  return BUILTIN_BY_NAME.get(name);
}

/**
 * Gates of the standard libraries that are defined by decomposition rather than by a
 * matrix (qelib1.inc's relative-phase Toffolis), in OpenQASM, parsed like user gates.
 */
export const LIBRARY_DEFINITIONS = `
gate rccx a, b, c { u2(0, pi) c; u1(pi/4) c; cx b, c; u1(-pi/4) c; cx a, c; u1(pi/4) c; cx b, c; u1(-pi/4) c; u2(0, pi) c; }
gate rc3x a, b, c, d {
  u2(0, pi) d; u1(pi/4) d; cx c, d; u1(-pi/4) d; u2(0, pi) d; cx a, d; u1(pi/4) d; cx b, d; u1(-pi/4) d;
  cx a, d; u1(pi/4) d; cx b, d; u1(-pi/4) d; u2(0, pi) d; u1(pi/4) d; cx c, d; u1(-pi/4) d; u2(0, pi) d;
}
`;

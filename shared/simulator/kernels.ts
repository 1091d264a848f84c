/**
 * In-place kernels of the fast simulator. The state is one interleaved (re, im) typed
 * array, double or single precision; amplitude i has qubit j as bit j of i (Qiskit's
 * order). Every kernel works on a range of "groups": the basis states with the operation's
 * qubits (targets and controls) all 0. Groups are independent, so a pass can be split
 * between threads by group range; controls are applied by visiting only the groups where
 * they are 1, so a controlled gate touches only its controlled part of the state.
 */

/** Amplitudes, interleaved (re, im). */
export type Amplitudes = Float64Array | Float32Array;

/** One pass over the state. `qubits` are sorted ascending; bit j of a matrix index is qubits[j]. */
export type KernelOp =
  /** A dense 2^k x 2^k unitary (interleaved, row-major) on k qubits. */
  | {
      readonly kind: 'matrix';
      readonly qubits: readonly number[];
      readonly controls: number;
      readonly matrix: Float64Array;
    }
  /** A diagonal unitary: 2^k complex entries. */
  | {
      readonly kind: 'diagonal';
      readonly qubits: readonly number[];
      readonly controls: number;
      readonly diagonal: Float64Array;
    }
  /** diag(1, e^{iφ}) on one qubit: only the half where it is 1 changes. */
  | {
      readonly kind: 'phase';
      readonly qubits: readonly number[];
      readonly controls: number;
      readonly re: number;
      readonly im: number;
    }
  /** X: swaps the two halves, no arithmetic. */
  | { readonly kind: 'x'; readonly qubits: readonly number[]; readonly controls: number }
  /** SWAP of two qubits: exchanges |01> and |10>, no arithmetic. */
  | { readonly kind: 'swap'; readonly qubits: readonly number[]; readonly controls: number };

/** Bit positions of the op's qubits and controls, sorted: the bits a group index leaves out. */
export function involvedBits(op: KernelOp): number[] {
  const bits = [...op.qubits];
  for (let b = 0; b < 31; b++) if ((op.controls >>> b) & 1) bits.push(b);
  return bits.sort((x, y) => x - y);
}

/** How many groups a pass of `op` has on n qubits. */
export function groupCount(op: KernelOp, numQubits: number): number {
  return 2 ** (numQubits - involvedBits(op).length);
}

/** Spreads group index g over the state index by inserting a 0 at each of `bits` (sorted). */
export function insertZeros(g: number, bits: readonly number[]): number {
  let index = g;
  for (let j = 0; j < bits.length; j++) {
    const b = bits[j] as number;
    index = ((index >>> b) << (b + 1)) | (index & ((1 << b) - 1));
  }
  return index;
}

/** The bits as a mask. */
export function maskOf(bits: readonly number[]): number {
  let mask = 0;
  for (const b of bits) mask |= 1 << b;
  return mask;
}

/** The next state index above `index` with every bit of `mask` 0 (the next group). */
function nextGroup(index: number, mask: number): number {
  return ((index | mask) + 1) & ~mask;
}

/** Applies `op` to groups [g0, g1) of the state. */
export function applyOp(a: Amplitudes, op: KernelOp, g0: number, g1: number): void {
  const bits = involvedBits(op);
  switch (op.kind) {
    case 'matrix':
      if (op.qubits.length === 1) return matrix1(a, op, bits, g0, g1);
      if (op.qubits.length === 2) return matrix2(a, op, bits, g0, g1);
      return matrixK(a, op, bits, g0, g1);
    case 'diagonal':
      return diagonalK(a, op, bits, g0, g1);
    case 'phase':
      return phase(a, op, bits, g0, g1);
    case 'x':
      return exchange(a, op, bits, g0, g1, 0, 2 << (op.qubits[0] as number));
    case 'swap':
      return exchange(a, op, bits, g0, g1, 2 << (op.qubits[0] as number), 2 << (op.qubits[1] as number));
  }
}

type Op<K extends KernelOp['kind']> = Extract<KernelOp, { kind: K }>;

function matrix1(a: Amplitudes, op: Op<'matrix'>, bits: readonly number[], g0: number, g1: number): void {
  const m = op.matrix;
  const [m00r, m00i, m01r, m01i, m10r, m10i, m11r, m11i] = m as unknown as number[] as Tuple32;
  const stride = 2 << (op.qubits[0] as number);
  const mask = maskOf(bits);
  let index = insertZeros(g0, bits);
  for (let g = g0; g < g1; g++, index = nextGroup(index, mask)) {
    const i0 = 2 * (index | op.controls);
    const i1 = i0 + stride;
    const ar = a[i0] as number;
    const ai = a[i0 + 1] as number;
    const br = a[i1] as number;
    const bi = a[i1 + 1] as number;
    a[i0] = m00r * ar - m00i * ai + m01r * br - m01i * bi;
    a[i0 + 1] = m00r * ai + m00i * ar + m01r * bi + m01i * br;
    a[i1] = m10r * ar - m10i * ai + m11r * br - m11i * bi;
    a[i1 + 1] = m10r * ai + m10i * ar + m11r * bi + m11i * br;
  }
}

function matrix2(a: Amplitudes, op: Op<'matrix'>, bits: readonly number[], g0: number, g1: number): void {
  // The 32 numbers of the 4x4 matrix in locals, and the products written out: the loop
  // body is then straight-line arithmetic the JIT keeps in registers.
  // prettier-ignore
  const [
    m00r, m00i, m01r, m01i, m02r, m02i, m03r, m03i,
    m10r, m10i, m11r, m11i, m12r, m12i, m13r, m13i,
    m20r, m20i, m21r, m21i, m22r, m22i, m23r, m23i,
    m30r, m30i, m31r, m31i, m32r, m32i, m33r, m33i,
  ] = op.matrix as unknown as number[] as Tuple32;
  const s1 = 2 << (op.qubits[0] as number);
  const s2 = 2 << (op.qubits[1] as number);
  const s3 = s1 + s2;
  const mask = maskOf(bits);
  let index = insertZeros(g0, bits);
  for (let g = g0; g < g1; g++, index = nextGroup(index, mask)) {
    const i = 2 * (index | op.controls);
    const v0r = a[i] as number;
    const v0i = a[i + 1] as number;
    const v1r = a[i + s1] as number;
    const v1i = a[i + s1 + 1] as number;
    const v2r = a[i + s2] as number;
    const v2i = a[i + s2 + 1] as number;
    const v3r = a[i + s3] as number;
    const v3i = a[i + s3 + 1] as number;
    a[i] = m00r * v0r - m00i * v0i + m01r * v1r - m01i * v1i + m02r * v2r - m02i * v2i + m03r * v3r - m03i * v3i;
    a[i + 1] = m00r * v0i + m00i * v0r + m01r * v1i + m01i * v1r + m02r * v2i + m02i * v2r + m03r * v3i + m03i * v3r;
    a[i + s1] = m10r * v0r - m10i * v0i + m11r * v1r - m11i * v1i + m12r * v2r - m12i * v2i + m13r * v3r - m13i * v3i;
    a[i + s1 + 1] =
      m10r * v0i + m10i * v0r + m11r * v1i + m11i * v1r + m12r * v2i + m12i * v2r + m13r * v3i + m13i * v3r;
    a[i + s2] = m20r * v0r - m20i * v0i + m21r * v1r - m21i * v1i + m22r * v2r - m22i * v2i + m23r * v3r - m23i * v3i;
    a[i + s2 + 1] =
      m20r * v0i + m20i * v0r + m21r * v1i + m21i * v1r + m22r * v2i + m22i * v2r + m23r * v3i + m23i * v3r;
    a[i + s3] = m30r * v0r - m30i * v0i + m31r * v1r - m31i * v1i + m32r * v2r - m32i * v2i + m33r * v3r - m33i * v3i;
    a[i + s3 + 1] =
      m30r * v0i + m30i * v0r + m31r * v1i + m31i * v1r + m32r * v2i + m32i * v2r + m33r * v3i + m33i * v3r;
  }
}

// prettier-ignore
type Tuple32 = [
  number, number, number, number, number, number, number, number,
  number, number, number, number, number, number, number, number,
  number, number, number, number, number, number, number, number,
  number, number, number, number, number, number, number, number,
];

/** Offsets (in array elements) of the 2^k amplitudes of a group, in matrix index order. */
function groupOffsets(qubits: readonly number[]): Int32Array {
  const d = 1 << qubits.length;
  const offsets = new Int32Array(d);
  for (let s = 0; s < d; s++) {
    let offset = 0;
    for (let j = 0; j < qubits.length; j++) if ((s >> j) & 1) offset += 2 << (qubits[j] as number);
    offsets[s] = offset;
  }
  return offsets;
}

function matrixK(a: Amplitudes, op: Op<'matrix'>, bits: readonly number[], g0: number, g1: number): void {
  const m = op.matrix;
  const offsets = groupOffsets(op.qubits);
  const d = offsets.length;
  const inRe = new Float64Array(d);
  const inIm = new Float64Array(d);
  const mask = maskOf(bits);
  let index = insertZeros(g0, bits);
  for (let g = g0; g < g1; g++, index = nextGroup(index, mask)) {
    const base = 2 * (index | op.controls);
    for (let s = 0; s < d; s++) {
      const at = base + (offsets[s] as number);
      inRe[s] = a[at] as number;
      inIm[s] = a[at + 1] as number;
    }
    let o = 0;
    for (let r = 0; r < d; r++) {
      let re = 0;
      let im = 0;
      for (let c = 0; c < d; c++, o += 2) {
        const mr = m[o] as number;
        const mi = m[o + 1] as number;
        const vr = inRe[c] as number;
        const vi = inIm[c] as number;
        re += mr * vr - mi * vi;
        im += mr * vi + mi * vr;
      }
      const at = base + (offsets[r] as number);
      a[at] = re;
      a[at + 1] = im;
    }
  }
}

function diagonalK(a: Amplitudes, op: Op<'diagonal'>, bits: readonly number[], g0: number, g1: number): void {
  // Elementwise, so the pass walks the state in order (cache lines used whole) over the
  // amplitudes of groups [g0, g1); each amplitude's diagonal entry is found by four
  // byte-table lookups that gather the op's qubit bits from its index.
  const diagonal = op.diagonal;
  const controls = op.controls;
  const tables = [0, 1, 2, 3].map((byte) => {
    const table = new Int32Array(256);
    for (let v = 0; v < 256; v++) {
      op.qubits.forEach((q, j) => {
        if (q >> 3 === byte && (v >> (q & 7)) & 1) table[v] = (table[v] as number) | (1 << j);
      });
    }
    return table;
  }) as [Int32Array, Int32Array, Int32Array, Int32Array];
  const [t0, t1, t2, t3] = tables;
  const perGroup = 2 ** bits.length;
  for (let i = g0 * perGroup, end = g1 * perGroup; i < end; i++) {
    if ((i & controls) !== controls) continue;
    const s =
      2 *
      ((t0[i & 255] as number) |
        (t1[(i >>> 8) & 255] as number) |
        (t2[(i >>> 16) & 255] as number) |
        (t3[i >>> 24] as number));
    const dr = diagonal[s] as number;
    const di = diagonal[s + 1] as number;
    const at = 2 * i;
    const re = a[at] as number;
    const im = a[at + 1] as number;
    a[at] = dr * re - di * im;
    a[at + 1] = dr * im + di * re;
  }
}

function phase(a: Amplitudes, op: Op<'phase'>, bits: readonly number[], g0: number, g1: number): void {
  const { re: pr, im: pi } = op;
  const offset = 2 << (op.qubits[0] as number);
  const mask = maskOf(bits);
  let index = insertZeros(g0, bits);
  for (let g = g0; g < g1; g++, index = nextGroup(index, mask)) {
    const i = 2 * (index | op.controls) + offset;
    const re = a[i] as number;
    const im = a[i + 1] as number;
    a[i] = pr * re - pi * im;
    a[i + 1] = pr * im + pi * re;
  }
}

/**
 * Exchanges two amplitudes of every group, at offsets `from` and `to` from its base, with
 * no arithmetic: X exchanges |0> and |1> of its qubit, SWAP exchanges |01> and |10>.
 */
function exchange(
  a: Amplitudes,
  op: KernelOp,
  bits: readonly number[],
  g0: number,
  g1: number,
  from: number,
  to: number,
): void {
  const mask = maskOf(bits);
  let index = insertZeros(g0, bits);
  for (let g = g0; g < g1; g++, index = nextGroup(index, mask)) {
    const i = 2 * (index | op.controls);
    const re = a[i + from] as number;
    const im = a[i + from + 1] as number;
    a[i + from] = a[i + to] as number;
    a[i + from + 1] = a[i + to + 1] as number;
    a[i + to] = re;
    a[i + to + 1] = im;
  }
}

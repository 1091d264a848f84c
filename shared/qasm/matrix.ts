/**
 * qpipe's linear algebra: small dense complex matrices for gates, row-major, interleaved
 * (re, im) in a Float64Array, the one representation the simulator, the translation for
 * devices and the transpiler share. A matrix on k qubits is 2^k x 2^k; basis index bit j
 * is the state of the gate's j-th target (target 0 is the least significant bit).
 */

/** A square complex matrix, interleaved re/im, row-major. */
export type Matrix = Float64Array;

/** The eight numbers (re, im of each entry, row-major) of a 2x2 matrix. */
export type Entries2x2 = [number, number, number, number, number, number, number, number];

/** A 2x2 matrix's entries as a typed tuple, for kernels that unpack them. */
export function entries2x2(m: Matrix): Entries2x2 {
  return m as unknown as Entries2x2;
}

/** The dimension of a square matrix. */
export function dimension(m: Matrix): number {
  return Math.round(Math.sqrt(m.length / 2));
}

/** Builds a matrix from rows of [re, im] pairs. */
export function fromRows(rows: readonly (readonly (readonly [number, number])[])[]): Matrix {
  const d = rows.length;
  const m = new Float64Array(2 * d * d);
  rows.forEach((row, r) => {
    row.forEach(([re, im], c) => {
      m[2 * (r * d + c)] = re;
      m[2 * (r * d + c) + 1] = im;
    });
  });
  return m;
}

/** A diagonal matrix from its entries. */
export function diagonal(entries: readonly (readonly [number, number])[]): Matrix {
  const d = entries.length;
  const m = new Float64Array(2 * d * d);
  entries.forEach(([re, im], i) => {
    m[2 * (i * d + i)] = re;
    m[2 * (i * d + i) + 1] = im;
  });
  return m;
}

/** e^{i·angle} as [re, im]. */
export function phase(angle: number): [number, number] {
  return [Math.cos(angle), Math.sin(angle)];
}

/** Matrix product a·b. */
export function multiply(a: Matrix, b: Matrix): Matrix {
  const d = dimension(a);
  const out = new Float64Array(a.length);
  for (let r = 0; r < d; r++) {
    for (let c = 0; c < d; c++) {
      let re = 0;
      let im = 0;
      for (let k = 0; k < d; k++) {
        const ar = a[2 * (r * d + k)] as number;
        const ai = a[2 * (r * d + k) + 1] as number;
        const br = b[2 * (k * d + c)] as number;
        const bi = b[2 * (k * d + c) + 1] as number;
        re += ar * br - ai * bi;
        im += ar * bi + ai * br;
      }
      out[2 * (r * d + c)] = re;
      out[2 * (r * d + c) + 1] = im;
    }
  }
  return out;
}

/** Conjugate transpose, the inverse of a unitary. */
export function adjoint(m: Matrix): Matrix {
  const d = dimension(m);
  const out = new Float64Array(m.length);
  for (let r = 0; r < d; r++) {
    for (let c = 0; c < d; c++) {
      out[2 * (c * d + r)] = m[2 * (r * d + c)] as number;
      out[2 * (c * d + r) + 1] = -(m[2 * (r * d + c) + 1] as number);
    }
  }
  return out;
}

/** Multiplies every entry by a scalar [re, im]. */
export function scale(m: Matrix, [sr, si]: readonly [number, number]): Matrix {
  const out = new Float64Array(m.length);
  for (let i = 0; i < m.length; i += 2) {
    const re = m[i] as number;
    const im = m[i + 1] as number;
    out[i] = re * sr - im * si;
    out[i + 1] = re * si + im * sr;
  }
  return out;
}

/** The identity on `d` basis states. */
export function identity(d: number): Matrix {
  return diagonal(Array.from({ length: d }, () => [1, 0] as const));
}

/** Whether every off-diagonal entry is (numerically) zero. */
export function isDiagonal(m: Matrix, tolerance = 1e-14): boolean {
  const d = dimension(m);
  for (let r = 0; r < d; r++) {
    for (let c = 0; c < d; c++) {
      if (r !== c && Math.abs(m[2 * (r * d + c)] as number) + Math.abs(m[2 * (r * d + c) + 1] as number) > tolerance) {
        return false;
      }
    }
  }
  return true;
}

function complexPower([re, im]: readonly [number, number], exponent: number): [number, number] {
  const r = Math.hypot(re, im);
  if (r === 0) return [0, 0];
  const theta = Math.atan2(im, re);
  const rk = r ** exponent;
  return [rk * Math.cos(theta * exponent), rk * Math.sin(theta * exponent)];
}

/**
 * m^k. Integer k by repeated squaring (negative k through the adjoint); any real k for
 * diagonal and 2x2 matrices, through the eigen-decomposition with the principal branch
 * (so pow(0.5) @ z is s, as the OpenQASM 3 standard library defines it). Returns
 * undefined when a fractional power of a larger non-diagonal matrix is asked for.
 */
export function power(m: Matrix, k: number | bigint): Matrix | undefined {
  const d = dimension(m);
  if (typeof k === 'bigint' || Number.isInteger(k)) {
    // Exact for every integer: the exponent's bits as a bigint, never 32-bit arithmetic.
    let remaining = BigInt(k);
    let base = remaining < 0n ? adjoint(m) : m;
    if (remaining < 0n) remaining = -remaining;
    let result = identity(d);
    while (remaining > 0n) {
      if (remaining & 1n) result = multiply(result, base);
      remaining >>= 1n;
      if (remaining > 0n) base = multiply(base, base);
    }
    return result;
  }
  if (isDiagonal(m)) {
    return diagonal(
      Array.from({ length: d }, (_, i) =>
        complexPower([m[2 * (i * d + i)] as number, m[2 * (i * d + i) + 1] as number], k),
      ),
    );
  }
  if (d !== 2) return undefined;
  const [ar, ai, br, bi, cr, ci, dr, di] = entries2x2(m);
  // Eigenvalues of [[a, b], [c, d]]: (tr ± sqrt(tr² − 4·det)) / 2.
  const trR = ar + dr;
  const trI = ai + di;
  const detR = ar * dr - ai * di - (br * cr - bi * ci);
  const detI = ar * di + ai * dr - (br * ci + bi * cr);
  const discR = trR * trR - trI * trI - 4 * detR;
  const discI = 2 * trR * trI - 4 * detI;
  const [sR, sI] = complexPower([discR, discI], 0.5);
  const eigen: [number, number][] = [
    [(trR + sR) / 2, (trI + sI) / 2],
    [(trR - sR) / 2, (trI - sI) / 2],
  ];
  const result = new Float64Array(8);
  const useB = Math.hypot(br, bi) > 1e-14;
  for (const [lr, li] of eigen) {
    // Eigenvector (b, λ − a), or (λ − d, c) when b = 0.
    let v0: [number, number] = useB ? [br, bi] : [lr - dr, li - di];
    let v1: [number, number] = useB ? [lr - ar, li - ai] : [cr, ci];
    const norm = Math.hypot(v0[0], v0[1], v1[0], v1[1]);
    v0 = [v0[0] / norm, v0[1] / norm];
    v1 = [v1[0] / norm, v1[1] / norm];
    const [pr, pi] = complexPower([lr, li], k);
    const v = [v0, v1];
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 2; c++) {
        const [xr, xi] = v[r] as [number, number];
        const [yr, yi] = v[c] as [number, number];
        // λ^k · v_r · conj(v_c)
        const outerR = xr * yr + xi * yi;
        const outerI = xi * yr - xr * yi;
        result[2 * (r * 2 + c)] = (result[2 * (r * 2 + c)] as number) + pr * outerR - pi * outerI;
        result[2 * (r * 2 + c) + 1] = (result[2 * (r * 2 + c) + 1] as number) + pr * outerI + pi * outerR;
      }
    }
  }
  return result;
}

/** A gate on qubits: its 2^k x 2^k matrix on `targets` (targets[0] the lowest bit), applied where every control is 1. */
interface AppliedGate {
  readonly targets: readonly number[];
  readonly controls: readonly number[];
  readonly matrix: Matrix;
}

/**
 * The unitary of a sequence of gates over `qubits` (qubits[0] the lowest bit): column c is the
 * sequence applied to basis state c. So a repeated body can be raised to a power by squaring.
 */
export function blockUnitary(gates: readonly AppliedGate[], qubits: readonly number[]): Matrix {
  const d = 2 ** qubits.length;
  const local = new Map(qubits.map((q, j) => [q, j]));
  const bit = (q: number) => 1 << (local.get(q) as number);
  const result = new Float64Array(2 * d * d);
  for (let c = 0; c < d; c++) {
    let state = new Float64Array(2 * d);
    state[2 * c] = 1;
    for (const gate of gates) {
      const k = gate.targets.length;
      const g = 2 ** k;
      const controlMask = gate.controls.reduce((mask, q) => mask | bit(q), 0);
      const targetMask = gate.targets.reduce((mask, q) => mask | bit(q), 0);
      // Basis offset of each local target pattern s (bit j of s is targets[j]).
      const offsets = Array.from({ length: g }, (_, s) =>
        gate.targets.reduce((offset, q, j) => ((s >> j) & 1 ? offset | bit(q) : offset), 0),
      );
      const next = new Float64Array(state);
      for (let base = 0; base < d; base++) {
        if ((base & targetMask) !== 0 || (base & controlMask) !== controlMask) continue;
        for (let r = 0; r < g; r++) {
          let re = 0;
          let im = 0;
          for (let s = 0; s < g; s++) {
            const mr = gate.matrix[2 * (r * g + s)] as number;
            const mi = gate.matrix[2 * (r * g + s) + 1] as number;
            const i = 2 * (base | (offsets[s] as number));
            re += mr * (state[i] as number) - mi * (state[i + 1] as number);
            im += mr * (state[i + 1] as number) + mi * (state[i] as number);
          }
          const o = 2 * (base | (offsets[r] as number));
          next[o] = re;
          next[o + 1] = im;
        }
      }
      state = next;
    }
    for (let r = 0; r < d; r++) {
      result[2 * (r * d + c)] = state[2 * r] as number;
      result[2 * (r * d + c) + 1] = state[2 * r + 1] as number;
    }
  }
  return result;
}

/** A complex number as [re, im]. */
export type Complex = readonly [number, number];

const add = (x: Complex, y: Complex): Complex => [x[0] + y[0], x[1] + y[1]];
const mul = (x: Complex, y: Complex): Complex => [x[0] * y[0] - x[1] * y[1], x[0] * y[1] + x[1] * y[0]];
const div = (x: Complex, y: Complex): Complex => {
  const n = y[0] * y[0] + y[1] * y[1];
  return [(x[0] * y[0] + x[1] * y[1]) / n, (x[1] * y[0] - x[0] * y[1]) / n];
};
const neg = (x: Complex): Complex => [-x[0], -x[1]];
/** |x|. */
export const magnitude = (x: Complex): number => Math.hypot(x[0], x[1]);
/** The angle of x. */
export const argument = (x: Complex): number => Math.atan2(x[1], x[0]);
const sqrtC = (x: Complex): Complex => {
  const r = Math.sqrt(magnitude(x));
  const t = argument(x) / 2;
  return [r * Math.cos(t), r * Math.sin(t)];
};
const near = (x: Complex, y: Complex, eps: number) => magnitude([x[0] - y[0], x[1] - y[1]]) < eps;

/** Entry i (row-major) of a matrix. */
export function entry(m: Matrix, i: number): Complex {
  return [m[2 * i] as number, m[2 * i + 1] as number];
}

/** Whether u equals v entry by entry, within eps. */
export function nearlyEqual(u: Matrix, v: Matrix, eps = 1e-9): boolean {
  for (let i = 0; i < u.length / 2; i++) if (!near(entry(u, i), entry(v, i), eps)) return false;
  return true;
}

/** The unit phase p with u = p·v, entry by entry within eps, if there is one. */
export function phaseBetween(u: Matrix, v: Matrix, eps = 1e-9): Complex | undefined {
  let pivot = 0;
  while (magnitude(entry(v, pivot)) <= 0.5) pivot++;
  const ratio = div(entry(u, pivot), entry(v, pivot));
  if (Math.abs(magnitude(ratio) - 1) > eps) return undefined;
  for (let i = 0; i < u.length / 2; i++) if (!near(entry(u, i), mul(ratio, entry(v, i)), eps)) return undefined;
  return ratio;
}

/** U = e^{iα} Rz(φ) Ry(θ) Rz(λ). */
export interface Euler {
  readonly theta: number;
  readonly phi: number;
  readonly lambda: number;
  readonly alpha: number;
}

/** The Euler angles of a 2x2 unitary. */
export function euler(u: Matrix, eps = 1e-9): Euler {
  const [a, b, c, d] = [entry(u, 0), entry(u, 1), entry(u, 2), entry(u, 3)];
  const theta = 2 * Math.atan2(magnitude(c), magnitude(a));
  // u = e^{iγ} U3(θ, φ, λ) and Rz(φ)Ry(θ)Rz(λ) = e^{-i(φ+λ)/2} U3(θ, φ, λ).
  let gamma: number;
  let phi: number;
  let lambda: number;
  if (magnitude(c) < eps) {
    gamma = argument(a);
    phi = 0;
    lambda = argument(d) - gamma;
  } else if (magnitude(a) < eps) {
    gamma = 0;
    phi = argument(c);
    lambda = argument(neg(b));
  } else {
    gamma = argument(a);
    phi = argument(c) - gamma;
    lambda = argument(neg(b)) - gamma;
  }
  return { theta, phi, lambda, alpha: gamma + (phi + lambda) / 2 };
}

/** The determinant of a 2x2 matrix. */
export function determinant2(u: Matrix): Complex {
  return add(mul(entry(u, 0), entry(u, 3)), neg(mul(entry(u, 1), entry(u, 2))));
}

/** The trace of a 2x2 matrix. */
export function trace2(u: Matrix): Complex {
  return add(entry(u, 0), entry(u, 3));
}

/** A square root V of a 2x2 unitary (V·V = U), by Cayley–Hamilton. */
export function sqrtUnitary2(u: Matrix): Matrix {
  let s = sqrtC(determinant2(u));
  let t = sqrtC(add(trace2(u), [2 * s[0], 2 * s[1]]));
  if (magnitude(t) < 1e-6) {
    s = neg(s);
    t = sqrtC(add(trace2(u), [2 * s[0], 2 * s[1]]));
  }
  return fromRows([
    [div(add(entry(u, 0), s), t), div(entry(u, 1), t)],
    [div(entry(u, 2), t), div(add(entry(u, 3), s), t)],
  ]);
}

/** e^{-iα}·x, the complex multiply other modules need for phases. */
export function rotatePhase(x: Complex, alpha: number): Complex {
  return mul(x, [Math.cos(alpha), -Math.sin(alpha)]);
}

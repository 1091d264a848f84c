/**
 * A state vector of n qubits as one interleaved (re, im) typed array, qubit j being bit j
 * of the basis index (Qiskit's little-endian order), and the reference gate kernel: one
 * general pass per gate, simple enough to be obviously right. The fast path (fusion.ts,
 * kernels.ts) is tested against it.
 */
import type { Primitive } from '../qasm/circuit.ts';
import { entries2x2 } from '../qasm/matrix.ts';
import type { Amplitudes } from './kernels.ts';

/** The amplitudes of an n-qubit state. */
export interface StateVector {
  readonly numQubits: number;
  readonly amplitudes: Amplitudes;
}

/** |0…0⟩ on n qubits. */
export function zeroState(numQubits: number): StateVector {
  const amplitudes = new Float64Array(2 ** (numQubits + 1));
  amplitudes[0] = 1;
  return { numQubits, amplitudes };
}

/**
 * Applies one primitive gate: its 2^k x 2^k matrix on `targets`, on the part of the state
 * where every control qubit is 1. Loops run over the basis states with all the gate's
 * qubits at 0 (inserting zero bits), then address the 2^k amplitudes of each group.
 */
export function applyPrimitive(state: StateVector, gate: Primitive): void {
  const { amplitudes: a, numQubits } = state;
  const k = gate.targets.length;
  const m = gate.matrix;
  let controlMask = 0;
  for (const c of gate.controls) controlMask += 2 ** c;
  const involved = [...gate.targets, ...gate.controls].sort((x, y) => x - y);
  const groups = 2 ** (numQubits - involved.length);
  const insert = (i: number): number => {
    let index = i;
    for (const bit of involved) {
      const low = index % 2 ** bit;
      index = (index - low) * 2 + low;
    }
    return index + controlMask;
  };

  if (k === 0) {
    // A (controlled) global phase.
    const pr = m[0] as number;
    const pi = m[1] as number;
    for (let g = 0; g < groups; g++) {
      const i = 2 * insert(g);
      const re = a[i] as number;
      const im = a[i + 1] as number;
      a[i] = re * pr - im * pi;
      a[i + 1] = re * pi + im * pr;
    }
    return;
  }
  if (k === 1) {
    const stride = 2 * 2 ** (gate.targets[0] as number);
    const [m00r, m00i, m01r, m01i, m10r, m10i, m11r, m11i] = entries2x2(m);
    for (let g = 0; g < groups; g++) {
      const i0 = 2 * insert(g);
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
    return;
  }
  const d = 2 ** k;
  const offsets = new Array<number>(d);
  for (let s = 0; s < d; s++) {
    let offset = 0;
    for (let j = 0; j < k; j++) if (Math.floor(s / 2 ** j) % 2 === 1) offset += 2 ** (gate.targets[j] as number);
    offsets[s] = 2 * offset;
  }
  const inRe = new Float64Array(d);
  const inIm = new Float64Array(d);
  for (let g = 0; g < groups; g++) {
    const base = 2 * insert(g);
    for (let s = 0; s < d; s++) {
      inRe[s] = a[base + (offsets[s] as number)] as number;
      inIm[s] = a[base + (offsets[s] as number) + 1] as number;
    }
    for (let r = 0; r < d; r++) {
      let re = 0;
      let im = 0;
      for (let c = 0; c < d; c++) {
        const mr = m[2 * (r * d + c)] as number;
        const mi = m[2 * (r * d + c) + 1] as number;
        re += mr * (inRe[c] as number) - mi * (inIm[c] as number);
        im += mr * (inIm[c] as number) + mi * (inRe[c] as number);
      }
      a[base + (offsets[r] as number)] = re;
      a[base + (offsets[r] as number) + 1] = im;
    }
  }
}

/** Probability that `qubit` reads 1. */
export function probabilityOfOne(state: StateVector, qubit: number): number {
  const a = state.amplitudes;
  const size = a.length / 2;
  const bit = 2 ** qubit;
  let p = 0;
  // Blocks of `bit` amplitudes with the qubit at 1 alternate with blocks where it is 0.
  for (let block = bit; block < size; block += 2 * bit) {
    for (let i = 2 * block, end = 2 * (block + bit); i < end; i += 2) {
      p += (a[i] as number) ** 2 + (a[i + 1] as number) ** 2;
    }
  }
  return p;
}

/** Projects `qubit` onto `outcome` and renormalises, given that outcome's probability. */
export function collapse(state: StateVector, qubit: number, outcome: 0 | 1, probability: number): void {
  const a = state.amplitudes;
  const size = a.length / 2;
  const bit = 2 ** qubit;
  // A zero-probability outcome leaves the zero vector; callers never follow such a branch.
  const norm = probability > 0 ? 1 / Math.sqrt(probability) : 0;
  for (let block = 0; block < size; block += bit) {
    const kept = (block / bit) % 2 === outcome;
    for (let i = 2 * block, end = 2 * (block + bit); i < end; i++) a[i] = kept ? (a[i] as number) * norm : 0;
  }
}

/** Flips `qubit` (an X gate), used by reset after a measurement of 1. */
export function flip(state: StateVector, qubit: number): void {
  const a = state.amplitudes;
  const size = a.length / 2;
  const bit = 2 ** qubit;
  for (let block = 0; block < size; block += 2 * bit) {
    for (let i = 2 * block, end = 2 * (block + bit); i < end; i++) {
      const j = i + 2 * bit;
      const value = a[i] as number;
      a[i] = a[j] as number;
      a[j] = value;
    }
  }
}

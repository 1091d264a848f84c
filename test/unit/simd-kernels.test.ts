/**
 * The WebAssembly SIMD kernels (real WebAssembly, run by this Node) against the scalar
 * JavaScript kernels they replace, which stay the reference: every op shape, both
 * precisions, any group range (odd ends included), and the assembled module against its text.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { type Amplitudes, applyOp, groupCount, involvedBits, type KernelOp } from '../../shared/simulator/kernels.ts';
import type { Precision } from '../../shared/simulator/memory.ts';
import { renderKernelsModule } from '../../shared/simulator/simd/generate.ts';
import { allocateSimdState, SimdKernels } from '../../shared/simulator/simd/kernels.ts';
import { lcg } from '../support/random-circuits.ts';

const QUBITS = 11;

/** Distinct qubits, `count` of them, sorted, avoiding `taken`. */
function pick(random: () => number, count: number, taken: readonly number[] = []): number[] {
  const free = Array.from({ length: QUBITS }, (_, q) => q).filter((q) => !taken.includes(q));
  const chosen: number[] = [];
  while (chosen.length < count && free.length > 0) chosen.push(...free.splice(Math.floor(random() * free.length), 1));
  return chosen.sort((x, y) => x - y);
}

const complexEntries = (random: () => number, count: number) =>
  Float64Array.from({ length: 2 * count }, () => 2 * random() - 1);

/** A random op of the given shape, with up to two control qubits. */
function randomOp(random: () => number, kind: KernelOp['kind'], width: number): KernelOp {
  const qubits = pick(random, width);
  const controls = pick(random, Math.floor(random() * 3), qubits).reduce((mask, q) => mask | (1 << q), 0);
  switch (kind) {
    case 'matrix':
      return { kind, qubits, controls, matrix: complexEntries(random, 4 ** width) };
    case 'diagonal':
      return { kind, qubits, controls, diagonal: complexEntries(random, 2 ** width) };
    case 'phase':
      return { kind, qubits, controls, re: Math.cos(random() * 6), im: Math.sin(random() * 6) };
    default:
      return { kind, qubits, controls };
  }
}

const SHAPES: [KernelOp['kind'], number][] = [
  ['matrix', 1],
  ['matrix', 2],
  ['matrix', 3],
  ['matrix', 4],
  ['matrix', 5],
  ['matrix', 6],
  ['diagonal', 0],
  ['diagonal', 1],
  ['diagonal', 3],
  ['diagonal', 10],
  ['diagonal', 11],
  ['phase', 1],
  ['x', 1],
  ['swap', 2],
];

function randomState(random: () => number, a: Amplitudes): void {
  for (let i = 0; i < a.length; i++) a[i] = 2 * random() - 1;
}

function largestDifference(a: Amplitudes, b: Amplitudes): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describe('SIMD kernels (real WebAssembly) against the scalar kernels', () => {
  it.each<[Precision, number]>([
    ['double', 1e-12],
    ['single', 1e-5],
  ])('give the same state for every op shape and group range, %s precision', (precision, tolerance) => {
    const random = lcg(7);
    for (const [kind, width] of SHAPES) {
      for (let trial = 0; trial < 6; trial++) {
        const op = randomOp(random, kind, width);
        const simd = allocateSimdState(QUBITS, precision, 1);
        if (!simd) throw new Error('this Node has no WebAssembly SIMD');
        randomState(random, simd.amplitudes);
        const scalar = simd.amplitudes.slice();
        // The whole range, or a part with odd ends (as a thread's share may have).
        const groups = groupCount(op, QUBITS);
        const g0 = trial % 2 === 0 ? 0 : Math.floor((random() * groups) / 2);
        const g1 = trial % 2 === 0 ? groups : Math.max(g0, groups - 1 - Math.floor((random() * groups) / 2));
        const tookIt = new SimdKernels(simd.simd, simd.amplitudes, 0).apply(op, g0, g1);
        applyOp(scalar, op, g0, g1);
        const label = `${kind} on ${op.qubits.join(',')} controls ${op.controls.toString(2)}, groups [${g0}, ${g1})`;
        expect(largestDifference(simd.amplitudes, scalar), label).toBeLessThan(tolerance);
        // What the SIMD kernels leave to the scalar ones: blocks wider than a slot holds,
        // and in single precision a pass involving qubit 0 (a vector spans bit 0).
        const tooWide = width > (kind === 'diagonal' ? 10 : 5);
        const spansBitZero =
          precision === 'single' && (kind === 'diagonal' ? op.controls & 1 : involvedBits(op)[0] === 0);
        expect(tookIt, label).toBe(!tooWide && !spansBitZero);
      }
    }
  });

  it('leave every amplitude outside the range and every scratch slot of other threads untouched', () => {
    const random = lcg(3);
    const simd = allocateSimdState(QUBITS, 'double', 2);
    if (!simd) throw new Error('this Node has no WebAssembly SIMD');
    randomState(random, simd.amplitudes);
    const before = simd.amplitudes.slice();
    const otherSlot = new Uint8Array(simd.simd.memory.buffer, 0, 65536).slice();
    const op = randomOp(random, 'matrix', 2);
    new SimdKernels(simd.simd, simd.amplitudes, 1).apply(op, 5, 9);
    const changed = simd.amplitudes.findIndex((v, i) => v !== before[i]);
    applyOp(before, op, 5, 9);
    expect(largestDifference(simd.amplitudes, before)).toBeLessThan(1e-12);
    expect(changed).toBeGreaterThan(0);
    expect(new Uint8Array(simd.simd.memory.buffer, 0, 65536)).toEqual(otherSlot);
  });

  it('decline a state wasm32 memory cannot address (28 qubits in double precision), so the scalar kernels take it', () => {
    expect(allocateSimdState(28, 'double', 2)).toBeUndefined();
  });

  it('are assembled from their text: module.ts is what `npm run gen` writes', async () => {
    const committed = await readFile(new URL('../../shared/simulator/simd/module.ts', import.meta.url), 'utf8');
    expect(committed).toBe(await renderKernelsModule());
  });
});

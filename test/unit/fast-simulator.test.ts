/**
 * The fast simulator (fused, specialised, parallel kernels) against the reference: one
 * general pass per gate (state-vector.ts), on seeded random circuits of every gate shape.
 */
import { describe, expect, it } from 'vitest';
import { compileQasm } from '../../shared/qasm/index.ts';
import { idleSimulatorThreads } from '../../shared/simulator/engine.ts';
import { fuseGates } from '../../shared/simulator/fusion.ts';
import { finalAmplitudes, simulate, stateVectorBytes } from '../../shared/simulator/run.ts';
import { applyPrimitive, zeroState } from '../../shared/simulator/state-vector.ts';
import { ghzQasm, layeredRandomQasm, mixedRandomQasm, qftQasm } from '../support/random-circuits.ts';

function reference(source: string): Float64Array {
  const { circuit } = compileQasm(source);
  const state = zeroState(circuit.numQubits);
  for (const op of circuit.operations) if (op.kind === 'gate') for (const part of op.parts) applyPrimitive(state, part);
  return state.amplitudes as Float64Array;
}

function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

const gatesOf = (source: string) =>
  compileQasm(source).circuit.operations.flatMap((op) => (op.kind === 'gate' ? op.parts : []));

describe('fast simulator: agreement with the reference', () => {
  const seeds = Array.from({ length: 12 }, (_, i) => i + 1);

  it.each(
    [0, 1, 2, 3, 4].flatMap((width) => (['simd', 'scalar'] as const).map((kernels) => [width, kernels] as const)),
  )('matches on random circuits of every gate shape with fusion width %i, %s kernels', async (width, kernels) => {
    for (const seed of seeds) {
      const source = mixedRandomQasm(6, 80, seed);
      const fast = await finalAmplitudes(compileQasm(source).circuit, { fusionWidth: width, threads: 1, kernels });
      expect(largestDifference(fast, reference(source)), `seed ${seed}`).toBeLessThan(1e-10);
    }
  });

  it('matches on QFT, GHZ and the layered benchmark circuit', async () => {
    for (const source of [qftQasm(9), ghzQasm(9), layeredRandomQasm(9, 6, 3)]) {
      const fast = await finalAmplitudes(compileQasm(source).circuit, { threads: 1 });
      expect(largestDifference(fast, reference(source))).toBeLessThan(1e-10);
    }
  });

  it.each(['simd', 'scalar'] as const)(
    'matches when passes are split across worker threads sharing the state, %s kernels',
    async (kernels) => {
      for (const seed of [1, 2, 3]) {
        const source = mixedRandomQasm(10, 120, seed);
        const fast = await finalAmplitudes(compileQasm(source).circuit, { threads: 3, parallelMinWork: 0, kernels });
        expect(largestDifference(fast, reference(source)), `seed ${seed}`).toBeLessThan(1e-10);
      }
    },
  );

  it('reuses its threads: consecutive and concurrent simulations start none beyond what runs at once', async () => {
    const circuit = compileQasm(mixedRandomQasm(10, 60, 4)).circuit;
    const first = await finalAmplitudes(circuit, { threads: 2, parallelMinWork: 0 });
    expect(idleSimulatorThreads()).toBeGreaterThanOrEqual(2);
    const kept = idleSimulatorThreads();
    const again = await finalAmplitudes(circuit, { threads: 2, parallelMinWork: 0 });
    expect(largestDifference(again, first)).toBe(0);
    expect(idleSimulatorThreads()).toBe(kept);
    // Two at once need four threads; afterwards the pool keeps what it may, results unchanged.
    const both = await Promise.all([1, 2].map(() => finalAmplitudes(circuit, { threads: 2, parallelMinWork: 0 })));
    for (const result of both) expect(largestDifference(result, first)).toBe(0);
    expect(idleSimulatorThreads()).toBeGreaterThanOrEqual(kept);
  });

  it.each(['simd', 'scalar'] as const)(
    'matches to single precision in single precision, with half the memory, %s kernels',
    async (kernels) => {
      const source = mixedRandomQasm(8, 100, 7);
      const circuit = compileQasm(source).circuit;
      const single = await finalAmplitudes(circuit, { precision: 'single', threads: 1, kernels });
      expect(single).toBeInstanceOf(Float32Array);
      expect(single.byteLength).toBe(stateVectorBytes(8, 'single'));
      expect(stateVectorBytes(8, 'single') * 2).toBe(stateVectorBytes(8, 'double'));
      expect(largestDifference(single, reference(source))).toBeLessThan(1e-5);
      const split = await finalAmplitudes(circuit, { precision: 'single', threads: 3, parallelMinWork: 0, kernels });
      expect(largestDifference(split, reference(source))).toBeLessThan(1e-5);
    },
  );
});

describe('fast simulator: fusion', () => {
  it('needs far fewer passes than gates on the layered circuit, and none wider than asked', () => {
    const gates = gatesOf(layeredRandomQasm(12, 10, 1));
    for (const width of [2, 3]) {
      const passes = fuseGates(gates, width);
      expect(passes.length).toBeLessThan(gates.length / 4);
      for (const pass of passes) expect(pass.qubits.length).toBeLessThanOrEqual(width);
    }
  });

  it('keeps a lone gate on its specialised kernel: X and SWAP without arithmetic, phases on half the state', () => {
    const kinds = (source: string) => fuseGates(gatesOf(source), 2).map((pass) => pass.kind);
    const oq = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[4] q;\n';
    expect(kinds(`${oq}ccx q[0], q[1], q[2];`)).toEqual(['x']);
    expect(kinds(`${oq}cswap q[0], q[1], q[2];`)).toEqual(['swap']);
    expect(kinds(`${oq}ctrl(2) @ t q[0], q[1], q[2];`)).toEqual(['phase']);
    // Two gates on the same pair become one pass; diagonal ones stay diagonal.
    expect(kinds(`${oq}cz q[0], q[1];\nrz(0.3) q[1];`)).toEqual(['diagonal']);
    expect(kinds(`${oq}h q[0];\ncx q[0], q[1];`)).toEqual(['matrix']);
  });

  it('fuses a run of 100,000 gates on two qubits into one pass (gathered in place, never copied per gate)', () => {
    const run = 'h q[0];\nt q[1];\ncx q[0], q[1];\n'.repeat(33_334);
    const gates = gatesOf(`OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n${run}`);
    expect(gates.length).toBeGreaterThan(100_000);
    const passes = fuseGates(gates, 2);
    expect(passes).toHaveLength(1);
    expect(passes[0]?.qubits).toEqual([0, 1]);
  });
});

describe('fast simulator: sampling', () => {
  it('samples GHZ on 16 qubits: only all zeros and all ones, each within 5 sigma of half', async () => {
    const result = await simulate(compileQasm(ghzQasm(16)).circuit, { shots: 4000, seed: 5 });
    expect(Object.keys(result.counts).sort()).toEqual(['0'.repeat(16), '1'.repeat(16)]);
    const zeros = result.counts['0'.repeat(16)] as number;
    expect(Math.abs(zeros - 2000)).toBeLessThan(5 * Math.sqrt(4000 * 0.25));
    expect(result.passes).toBeLessThan(16);
  });

  it('samples the marginal of the measured qubits', async () => {
    // q0 in |+>, q1 = 1, q2 in ry(2·acos(√0.2))|0> (reads 1 with probability 0.8); only q2 and q1 measured.
    const theta = 2 * Math.acos(Math.sqrt(0.2));
    const source = `OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[2] c;\nh q[0];\nx q[1];\nry(${theta}) q[2];\nc[0] = measure q[1];\nc[1] = measure q[2];`;
    const { counts } = await simulate(compileQasm(source).circuit, { shots: 10_000, seed: 9 });
    expect(Object.keys(counts).sort()).toEqual(['01', '11']);
    expect(Math.abs((counts['11'] as number) - 8000)).toBeLessThan(5 * Math.sqrt(10_000 * 0.16));
  });
});

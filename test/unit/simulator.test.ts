import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileQasm } from '../../shared/qasm/index.ts';
import { SimulatorMemoryError } from '../../shared/simulator/errors.ts';
import { exactProbabilities, simulate } from '../../shared/simulator/run.ts';
import { applyPrimitive, zeroState } from '../../shared/simulator/state-vector.ts';

const OQ3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n';

/** The final state of a circuit's gates (measurements ignored). */
function amplitudes(source: string): [number, number][] {
  const { circuit } = compileQasm(source);
  const state = zeroState(circuit.numQubits);
  for (const op of circuit.operations) if (op.kind === 'gate') for (const part of op.parts) applyPrimitive(state, part);
  const out: [number, number][] = [];
  for (let i = 0; i < state.amplitudes.length; i += 2)
    out.push([state.amplitudes[i] as number, state.amplitudes[i + 1] as number]);
  return out;
}

function expectAmplitudes(actual: [number, number][], expected: [number, number][]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach(([re, im], i) => {
    expect(re, `re[${i}]`).toBeCloseTo((expected[i] as [number, number])[0], 12);
    expect(im, `im[${i}]`).toBeCloseTo((expected[i] as [number, number])[1], 12);
  });
}

const r = Math.SQRT1_2;

describe('state-vector simulator: exact amplitudes', async () => {
  it('prepares the Bell state (|00> + |11>)/√2', async () => {
    expectAmplitudes(amplitudes(`${OQ3}qubit[2] q;\nh q[0];\ncx q[0], q[1];`), [
      [r, 0],
      [0, 0],
      [0, 0],
      [r, 0],
    ]);
  });

  it('prepares the 4-qubit GHZ state', async () => {
    const expected: [number, number][] = Array.from({ length: 16 }, () => [0, 0]);
    expected[0] = [r, 0];
    expected[15] = [r, 0];
    expectAmplitudes(
      amplitudes(`${OQ3}qubit[4] q;\nh q[0];\ncx q[0], q[1];\ncx q[1], q[2];\ncx q[2], q[3];`),
      expected,
    );
  });

  it.each([0, 1, 5, 7])('maps the basis state |%i> by the QFT to equal-magnitude phases e^{2πi·jk/8}', (j) => {
    // QFT on 3 qubits (qubit 0 least significant), with the final swap.
    const prep = [0, 1, 2]
      .filter((b) => (j >> b) & 1)
      .map((b) => `x q[${b}];`)
      .join('\n');
    const source = `${OQ3}qubit[3] q;\n${prep}\nh q[2];\ncp(pi/2) q[1], q[2];\ncp(pi/4) q[0], q[2];\nh q[1];\ncp(pi/2) q[0], q[1];\nh q[0];\nswap q[0], q[2];`;
    const expected = Array.from({ length: 8 }, (_, k): [number, number] => {
      const angle = (2 * Math.PI * j * k) / 8;
      return [Math.cos(angle) / Math.sqrt(8), Math.sin(angle) / Math.sqrt(8)];
    });
    expectAmplitudes(amplitudes(source), expected);
  });

  it('teleports ry(θ)|0>: the received qubit reads 1 with probability sin²(θ/2) whatever was measured', async () => {
    const source = readFileSync(new URL('../../examples/circuits/teleportation.qasm', import.meta.url), 'utf8');
    const probabilities = await exactProbabilities(compileQasm(source).circuit);
    // Keys are "result m1 m0"; the result bit is leftmost.
    let one = 0;
    for (const [key, p] of Object.entries(probabilities)) if (key.startsWith('1')) one += p;
    expect(one).toBeCloseTo(Math.sin(0.6) ** 2, 12);
    for (const key of ['0 0 0', '0 0 1', '0 1 0', '0 1 1'])
      expect(probabilities[key]).toBeCloseTo(Math.cos(0.6) ** 2 / 4, 12);
  });

  it('agrees with the definitions of the standard library (stdgates.inc)', async () => {
    // s = pow(0.5) @ z, sx = pow(0.5) @ x, and cu(θ, φ, λ, γ) = p(γ) on the control then ctrl @ U.
    const builtin = amplitudes(`${OQ3}qubit[2] q;\nh q;\ns q[0];\nsx q[1];\ncu(0.3, 0.4, 0.5, 0.6) q[0], q[1];`);
    const defined = amplitudes(
      `${OQ3}qubit[2] q;\nh q;\npow(0.5) @ z q[0];\npow(0.5) @ x q[1];\np(0.6) q[0];\nctrl @ U(0.3, 0.4, 0.5) q[0], q[1];`,
    );
    expectAmplitudes(builtin, defined);
  });
});

describe('state-vector simulator: sampling', async () => {
  it('keys counts in Qiskit order: classical bit 0 rightmost, registers last-declared first', async () => {
    const { circuit } = compileQasm(
      'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg a[2];\ncreg b[1];\nx q[0];\nx q[2];\nmeasure q[0] -> a[0];\nmeasure q[1] -> a[1];\nmeasure q[2] -> b[0];\n',
    );
    expect((await simulate(circuit, { shots: 10, seed: 1 })).counts).toEqual({ '1 01': 10 });
  });

  it('repeats exactly with the same seed and differs with another', async () => {
    const { circuit } = compileQasm(`${OQ3}qubit[3] q;\nbit[3] c;\nh q;\nc = measure q;`);
    const a = (await simulate(circuit, { shots: 500, seed: 42 })).counts;
    expect((await simulate(circuit, { shots: 500, seed: 42 })).counts).toEqual(a);
    expect((await simulate(circuit, { shots: 500, seed: 43 })).counts).not.toEqual(a);
  });

  it('samples terminal measurements in one pass and mid-circuit ones shot by shot, saying so', async () => {
    const terminal = await simulate(compileQasm(`${OQ3}qubit q;\nbit c;\nh q;\nc = measure q;`).circuit, {
      shots: 100,
      seed: 1,
    });
    expect(terminal.method).toBe('sampled');
    const branching = await simulate(
      compileQasm(
        `${OQ3}qubit[2] q;\nbit[2] c;\nh q[0];\nc[0] = measure q[0];\nif (c[0]) x q[1];\nc[1] = measure q[1];`,
      ).circuit,
      { shots: 200, seed: 1 },
    );
    expect(branching.method).toBe('per-shot');
    expect(branching.note).toMatch(/classical control.*took \d/);
    // The controlled x copies the measured bit: only 00 and 11.
    expect(Object.keys(branching.counts).sort()).toEqual(['00', '11']);
  });

  it('resets a qubit in use to |0>', async () => {
    const { circuit } = compileQasm(
      `${OQ3}qubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nreset q[0];\nc = measure q;`,
    );
    const probabilities = await exactProbabilities(circuit);
    expect(Object.keys(probabilities).sort()).toEqual(['00', '10']);
    expect(probabilities['00']).toBeCloseTo(0.5, 12);
    expect(probabilities['10']).toBeCloseTo(0.5, 12);
  });

  it('measures every qubit when the circuit measures none, as Braket does', async () => {
    const { circuit } = compileQasm(`${OQ3}qubit[2] q;\nx q[1];`);
    expect((await simulate(circuit, { shots: 5, seed: 1 })).counts).toEqual({ '10': 5 });
  });

  it('refuses a state vector larger than its memory limit, saying how much it needs', async () => {
    const { circuit } = compileQasm(`${OQ3}qubit[30] q;\nh q[0];`);
    await expect(simulate(circuit, { shots: 1, maxMemoryBytes: 1024 ** 3 })).rejects.toThrow(SimulatorMemoryError);
    await expect(simulate(circuit, { shots: 1, maxMemoryBytes: 1024 ** 3 })).rejects.toThrow(
      /needs 16 GiB of memory, more than the simulator.s limit of 1 GiB/,
    );
  });
});

const CORPUS = new URL('../../../shared/corpus/qasmbench/', import.meta.url).pathname;

describe.skipIf(!existsSync(CORPUS))('state-vector simulator: deterministic QASMBench answers', async () => {
  const probabilitiesOf = async (file: string) =>
    await exactProbabilities(compileQasm(readFileSync(CORPUS + file, 'utf8')).circuit);

  it('Bernstein-Vazirani (bv_n14) reads its hidden string 1111111111111 with certainty', async () => {
    expect(await probabilitiesOf('medium/bv_n14/bv_n14.qasm')).toEqual({ '1111111111111': expect.closeTo(1, 12) });
  });

  it('the ripple-carry adder (adder_n10) adds 0001 + 1111 = 10000', async () => {
    expect(await probabilitiesOf('small/adder_n10/adder_n10.qasm')).toEqual({ '10000': expect.closeTo(1, 12) });
  });

  it('Deutsch (deutsch_n2) finds f(x) = x balanced: bit 0 always reads 1', async () => {
    const probabilities = await probabilitiesOf('small/deutsch_n2/deutsch_n2.qasm');
    expect(Object.keys(probabilities).every((key) => key.endsWith('1'))).toBe(true);
    expect(Object.values(probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});

/**
 * Transpilation checked by qpipe's own simulator: the transpiled circuit, run from |0…0⟩ on
 * the device's physical qubits, leaves the source circuit's state on the physical qubits
 * the recorded final layout names (others back at |0⟩), up to a global phase; every gate is
 * in the basis and every two-qubit gate on a pair the device runs in that direction.
 */
import { describe, expect, it } from 'vitest';
import { compileQasm } from '../../../shared/qasm/index.ts';
import { finalAmplitudes } from '../../../shared/simulator/run.ts';
import { buildTarget, IBM_DEVICES, type TranspileTarget } from '../../../shared/transpile/target.ts';
import { transpile, type Transpiled } from '../../../shared/transpile/transpile.ts';
import { zsx } from '../../../shared/transpile/one-qubit.ts';
import { type Matrix, multiply } from '../../../shared/qasm/matrix.ts';
import { ghzQasm, layeredRandomQasm, lcg, mixedRandomQasm, qftQasm } from '../../support/random-circuits.ts';

/** Small devices with the three two-qubit gates, one-way couplings and a gap between pieces. */
const TARGETS: TranspileTarget[] = [
  // A line whose ecr runs one way on some pairs and the other way on others, as on Eagle.
  buildTarget(
    'line-ecr',
    7,
    ['ecr', 'rz', 'sx', 'x'],
    [
      [0, 1],
      [2, 1],
      [2, 3],
      [4, 3],
      [4, 5],
      [5, 6],
    ],
  ),
  // A ring of cz with a spur, as a piece of Heron's heavy hex.
  buildTarget(
    'ring-cz',
    8,
    ['cz', 'rz', 'sx', 'x'],
    [
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
      [5, 0],
      [3, 6],
      [6, 7],
    ],
  ),
  // Every pair, cx: routing has nothing to do, translation little.
  buildTarget('full-cx', 6, ['cx', 'rz', 'sx'], undefined),
  // Heron with IBM's fractional gates: rzz on coupled pairs, rx.
  buildTarget(
    'heron-fractional',
    6,
    ['cz', 'rz', 'sx', 'x', 'rx', 'rzz'],
    [
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ],
  ),
];

/** Largest difference between the source's state and the transpiled one read through the final layout, phase removed. */
async function layoutDistance(source: string, result: Transpiled, target: TranspileTarget): Promise<number> {
  const { circuit } = compileQasm(source);
  const want = await finalAmplitudes(circuit, { threads: 1 });
  // Pad the transpiled program to the device's size so qubit numbers stay physical.
  const padded = result.qasm.replace(
    'include "stdgates.inc";',
    `include "stdgates.inc";\nreset $${target.qubits - 1};`,
  );
  const got = await finalAmplitudes(compileQasm(padded).circuit, { threads: 1 });
  const final = result.layout.final;
  const physical = (i: number) => final.reduce((index, p, l) => index | (((i >> l) & 1) << p), 0);
  let pivot = 0;
  for (let i = 0; 2 * i < want.length; i++)
    if (Math.hypot(want[2 * i]!, want[2 * i + 1]!) > Math.hypot(want[2 * pivot]!, want[2 * pivot + 1]!)) pivot = i;
  const [wr, wi, gr, gi] = [
    want[2 * pivot]!,
    want[2 * pivot + 1]!,
    got[2 * physical(pivot)]!,
    got[2 * physical(pivot) + 1]!,
  ];
  const n = gr * gr + gi * gi;
  const [pr, pi] = [(wr * gr + wi * gi) / n, (wi * gr - wr * gi) / n];
  let worst = 0;
  let weight = 0;
  for (let i = 0; 2 * i < want.length; i++) {
    const j = physical(i);
    const re = pr * got[2 * j]! - pi * got[2 * j + 1]!;
    const im = pr * got[2 * j + 1]! + pi * got[2 * j]!;
    worst = Math.max(worst, Math.hypot(re - want[2 * i]!, im - want[2 * i + 1]!));
    weight += got[2 * j]! ** 2 + got[2 * j + 1]! ** 2;
  }
  // All of the transpiled state sits where the layout says (ancillas back at |0⟩).
  return Math.max(worst, Math.abs(1 - weight));
}

function expectIsa(result: Transpiled, target: TranspileTarget): void {
  for (const gate of result.gates) {
    expect(target.basis.has(gate.name), gate.name).toBe(true);
    if ('qubits' in gate)
      expect(target.native(gate.qubits[0], gate.qubits[1]), `${gate.name} ${gate.qubits.join(',')}`).toBe(true);
  }
}

describe('transpilation (qpipe simulator as the judge)', () => {
  it.each(TARGETS.map((t) => [t.name, t] as const))(
    'keeps the state of random circuits of every gate shape on %s, at every level',
    async (_, target) => {
      for (const level of [0, 1, 2, 3]) {
        for (const seed of [1, 2, 3]) {
          const source = mixedRandomQasm(5, 40, seed);
          const result = transpile(compileQasm(source).circuit, target, { optimizationLevel: level, seed });
          expectIsa(result, target);
          expect(await layoutDistance(source, result, target), `level ${level} seed ${seed}`).toBeLessThan(1e-9);
        }
      }
    },
  );

  it('keeps QFT, GHZ and a layered random circuit on a line: the chain-shaped GHZ without swaps, the QFT with some', async () => {
    const target = TARGETS[0]!;
    const cases = [
      [qftQasm(6), 'swaps'],
      [ghzQasm(7), 'none'],
      [layeredRandomQasm(6, 6, 2), 'any'],
    ] as const;
    for (const [source, swaps] of cases) {
      const result = transpile(compileQasm(source).circuit, target);
      expectIsa(result, target);
      // Every pair of the QFT's qubits interacts, which no line can host; GHZ is a chain.
      if (swaps === 'swaps') expect(result.swaps).toBeGreaterThan(0);
      if (swaps === 'none') expect(result.swaps).toBe(0);
      expect(await layoutDistance(source, result, target)).toBeLessThan(1e-9);
    }
  });

  it('routes a Bell pair onto coupled qubits of Heron and Eagle with one two-qubit gate, measuring into the user’s bits', () => {
    const bell = compileQasm(
      'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n',
    ).circuit;
    for (const name of ['ibm_torino', 'ibm_brisbane']) {
      const data = IBM_DEVICES.get(name)!;
      const target = buildTarget(name, data.qubits, data.basisGates, data.couplingMap);
      const result = transpile(bell, target);
      expectIsa(result, target);
      expect(result.twoQubitGates).toBe(1);
      expect(result.swaps).toBe(0);
      const [p0, p1] = result.layout.final as [number, number];
      expect(result.qasm).toContain(`c[0] = measure $${p0};`);
      expect(result.qasm).toContain(`c[1] = measure $${p1};`);
      expect(result.measurements.clbitQubits).toEqual([p0, p1]);
    }
  });

  it('is seeded: the same seed gives the same circuit, and level 1 needs no more two-qubit gates than level 0', () => {
    const target = TARGETS[1]!;
    const circuit = compileQasm(layeredRandomQasm(7, 8, 4)).circuit;
    expect(transpile(circuit, target, { seed: 5 }).qasm).toBe(transpile(circuit, target, { seed: 5 }).qasm);
    expect(transpile(circuit, target, { optimizationLevel: 1 }).twoQubitGates).toBeLessThanOrEqual(
      transpile(circuit, target, { optimizationLevel: 0 }).twoQubitGates,
    );
  });

  it('cancels what meets its inverse: cx twice, and the cz pairs translation leaves', () => {
    const circuit = compileQasm(
      'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\ncx q[0], q[1];\ncx q[0], q[1];\nh q[0];\nh q[0];\n',
    ).circuit;
    const result = transpile(circuit, TARGETS[1]!, { optimizationLevel: 1 });
    expect(result.gates).toEqual([]);
    expect(transpile(circuit, TARGETS[1]!, { optimizationLevel: 0 }).twoQubitGates).toBe(2);
  });

  it('keeps a ZZ rotation one rzz and writes rotations with rx where the device offers them', async () => {
    const target = TARGETS[3]!;
    const source =
      'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nh q;\nrzz(0.7) q[0], q[1];\nrzz(-1.2) q[1], q[2];\nrx(0.4) q[0];\n';
    const result = transpile(compileQasm(source).circuit, target);
    expectIsa(result, target);
    expect(result.gates.filter((g) => g.name === 'rzz')).toHaveLength(2);
    expect(result.twoQubitGates).toBe(2);
    expect(result.gates.some((g) => g.name === 'rx')).toBe(true);
    expect(await layoutDistance(source, result, target)).toBeLessThan(1e-9);
    // Without rzz in the basis the same rotation costs two CNOTs' worth of cz.
    expect(transpile(compileQasm(source).circuit, TARGETS[1]!).twoQubitGates).toBe(4);
  });

  it('refuses what the sampler cannot run, naming it: too many qubits, classical control, mid-circuit measurement, pieces too small', () => {
    const target = TARGETS[0]!;
    expect(() => transpile(compileQasm('OPENQASM 3.0;\nqubit[9] q;\n').circuit, target)).toThrow(
      'uses 9 qubits; line-ecr has 7',
    );
    expect(() =>
      transpile(
        compileQasm(
          'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nbit[1] c;\nc[0] = measure q[0];\nif (c[0]) x q[0];\n',
        ).circuit,
        target,
      ),
    ).toThrow(/measurements come last|classical control/);
    const split = buildTarget(
      'split',
      4,
      ['cz', 'rz', 'sx'],
      [
        [0, 1],
        [2, 3],
      ],
    );
    expect(() => transpile(compileQasm(ghzQasm(3)).circuit, split)).toThrow('split has no 3 connected qubits');
  });
});

describe('one-qubit synthesis in rz, sx and x', () => {
  const rz = (a: number) =>
    Float64Array.of(Math.cos(a / 2), -Math.sin(a / 2), 0, 0, 0, 0, Math.cos(a / 2), Math.sin(a / 2));
  const SX = Float64Array.of(0.5, 0.5, 0.5, -0.5, 0.5, -0.5, 0.5, 0.5);
  const rx = (a: number) =>
    Float64Array.of(Math.cos(a / 2), 0, 0, -Math.sin(a / 2), 0, -Math.sin(a / 2), Math.cos(a / 2), 0);
  const X = Float64Array.of(0, 0, 1, 0, 1, 0, 0, 0);
  const u3 = (t: number, p: number, l: number) =>
    Float64Array.of(
      Math.cos(t / 2),
      0,
      -Math.cos(l) * Math.sin(t / 2),
      -Math.sin(l) * Math.sin(t / 2),
      Math.cos(p) * Math.sin(t / 2),
      Math.sin(p) * Math.sin(t / 2),
      Math.cos(p + l) * Math.cos(t / 2),
      Math.sin(p + l) * Math.cos(t / 2),
    );

  it.each([[['rz', 'sx', 'x']], [['rz', 'sx', 'x', 'rx']]])(
    'writes every rotation, the special angles included, as at most five gates equal up to a phase, basis %j',
    (names) => {
      const basis = new Set(names);
      const random = lcg(9);
      const angles = [0, Math.PI / 2, Math.PI, -Math.PI / 2, ...Array.from({ length: 20 }, () => (random() - 0.5) * 8)];
      for (const t of angles) {
        for (const p of angles.slice(0, 8)) {
          const u = u3(t, p, angles[Math.floor(random() * angles.length)]!);
          const gates = zsx(u, 0, basis);
          expect(gates.length).toBeLessThanOrEqual(5);
          let m: Matrix = Float64Array.of(1, 0, 0, 0, 0, 0, 1, 0);
          for (const g of gates)
            m = multiply(g.name === 'rz' ? rz(g.angle!) : g.name === 'rx' ? rx(g.angle!) : g.name === 'sx' ? SX : X, m);
          // m = e^{iα} u: the ratio at the largest entry, then every entry.
          const k = [0, 2, 4, 6].reduce(
            (best, i) => (Math.hypot(u[i]!, u[i + 1]!) > Math.hypot(u[best]!, u[best + 1]!) ? i : best),
            0,
          );
          const n = u[k]! ** 2 + u[k + 1]! ** 2;
          const [pr, pi] = [(m[k]! * u[k]! + m[k + 1]! * u[k + 1]!) / n, (m[k + 1]! * u[k]! - m[k]! * u[k + 1]!) / n];
          for (let i = 0; i < 8; i += 2) {
            expect(
              Math.hypot(pr * u[i]! - pi * u[i + 1]! - m[i]!, pr * u[i + 1]! + pi * u[i]! - m[i + 1]!),
            ).toBeLessThan(1e-12);
          }
        }
      }
    },
  );
});

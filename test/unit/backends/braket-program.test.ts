/**
 * Translation for Braket: the program sent to a device, run back through qpipe's own
 * parser and simulator (Braket's gate names defined from the standard library), leaves
 * the same state as the original circuit, up to a global phase, for each device's gate set.
 */
import { describe, expect, it } from 'vitest';
import { braketProgram } from '../../../shared/backends/braket/program.ts';
import { compileQasm } from '../../../shared/qasm/index.ts';
import { finalAmplitudes } from '../../../shared/simulator/run.ts';
import { runnableBraketSource } from '../../support/braket-prelude.ts';
import { mixedRandomQasm } from '../../support/random-circuits.ts';
import { CORPUS, corpusFiles, corpusPresent } from '../../support/corpus.ts';
import { FAKE_DEVICES } from '../../support/fake-braket.ts';
import { readFileSync } from 'node:fs';
import { measurementPlan, perShotReason } from '../../../shared/qasm/measurement.ts';

// Gate sets as Braket's GetDevice lists them for SV1 and IonQ Forte (the Braket stand-in's recorded answers).
const GATE_SETS: Record<string, readonly string[]> = {
  'SV1 (every named gate)': FAKE_DEVICES[0]!.supportedOperations,
  'IonQ (no phaseshift, no cz)': FAKE_DEVICES[1]!.supportedOperations,
  'the minimum (rz, ry, cnot)': ['rz', 'ry', 'cnot'],
};

/** Largest difference between two states after removing the global phase. */
function phaseFreeDistance(a: Float64Array, b: Float64Array): number {
  let pivot = 0;
  for (let i = 0; i < a.length; i += 2)
    if (Math.hypot(a[i]!, a[i + 1]!) > Math.hypot(a[pivot]!, a[pivot + 1]!)) pivot = i;
  // ratio = b[pivot] / a[pivot]
  const [ar, ai, br, bi] = [a[pivot]!, a[pivot + 1]!, b[pivot]!, b[pivot + 1]!];
  const n = ar * ar + ai * ai;
  const rr = (br * ar + bi * ai) / n;
  const ri = (bi * ar - br * ai) / n;
  let worst = Math.abs(Math.hypot(rr, ri) - 1);
  for (let i = 0; i < a.length; i += 2) {
    const xr = a[i]! * rr - a[i + 1]! * ri;
    const xi = a[i]! * ri + a[i + 1]! * rr;
    worst = Math.max(worst, Math.hypot(xr - b[i]!, xi - b[i + 1]!));
  }
  return worst;
}

async function agreement(source: string, gates: readonly string[]): Promise<number> {
  const { circuit } = compileQasm(source);
  const program = braketProgram(circuit, new Set(gates));
  const translated = compileQasm(runnableBraketSource(program.source)).circuit;
  const settings = { threads: 1, fusionWidth: 0 };
  return phaseFreeDistance(
    (await finalAmplitudes(circuit, settings)) as Float64Array,
    (await finalAmplitudes(translated, settings)) as Float64Array,
  );
}

describe('Braket program translation', () => {
  it.each(Object.entries(GATE_SETS))(
    'keeps the state of random circuits of every gate shape on %s',
    async (_, gates) => {
      for (let seed = 1; seed <= 10; seed++) {
        expect(await agreement(mixedRandomQasm(5, 60, seed), gates), `seed ${seed}`).toBeLessThan(1e-9);
      }
    },
  );

  it.each([
    ['c3x', 'qubit[5] q; h q[0]; h q[1]; h q[2]; h q[4]; c3x q[0], q[1], q[2], q[3];'],
    ['c4x', 'qubit[5] q; h q[0]; h q[1]; h q[2]; h q[3]; c4x q[0], q[1], q[2], q[3], q[4];'],
    ['ctrl(3) @ ry', 'qubit[4] q; h q[0]; h q[1]; h q[2]; ctrl(3) @ ry(0.3) q[0], q[1], q[2], q[3];'],
    [
      'inv @ pow(0.5) @ u',
      'qubit[2] q; h q[0]; inv @ pow(0.5) @ U(0.3, 1.2, -0.4) q[1]; cu(0.1, 0.2, 0.3, 0.4) q[0], q[1];',
    ],
    [
      'user gate',
      'qubit[3] q; gate g(a) x, y { h x; crz(a) x, y; } g(0.9) q[0], q[2]; ctrl @ g(0.4) q[1], q[0], q[2];',
    ],
  ])('keeps the state of %s on the minimum gate set', async (_, body) => {
    expect(
      await agreement(`OPENQASM 3.0;\ninclude "stdgates.inc";\n${body}`, GATE_SETS['the minimum (rz, ry, cnot)']!),
    ).toBeLessThan(1e-9);
  });

  it('measures into one register and keeps the layout of every classical register', () => {
    const { circuit } = compileQasm(
      'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg a[1];\ncreg b[2];\nh q[0];\ncx q[0],q[2];\nmeasure q[0] -> b[1];\nmeasure q[2] -> a[0];\n',
    );
    const program = braketProgram(circuit, new Set(GATE_SETS['SV1 (every named gate)']));
    expect(program.source).toContain('bit[3] c;');
    expect(program.source).toContain('c[0] = measure q[2];');
    expect(program.source).toContain('c[2] = measure q[0];');
    expect(program.layout.clbitQubits).toEqual([2, -1, 0]);
    expect(JSON.parse(program.action)).toMatchObject({ braketSchemaHeader: { name: 'braket.ir.openqasm.program' } });
  });

  it('rejects mid-circuit measurement and devices without the gates translation needs', () => {
    const { circuit } = compileQasm('OPENQASM 3.0;\nqubit[1] q;\nbit[1] c;\nc[0] = measure q[0];\nU(1, 0, 0) q[0];\n');
    expect(() => braketProgram(circuit, new Set(GATE_SETS['SV1 (every named gate)']))).toThrow(
      /Amazon Braket runs only circuits whose measurements come last \(mid-circuit measurement\)/,
    );
    const bell = compileQasm('OPENQASM 3.0;\nqubit[1] q;\nU(1, 0, 0) q[0];\n').circuit;
    expect(() => braketProgram(bell, new Set(['cz', 'rx']))).toThrow(/device lacks rz, ry, cnot/);
  });

  it('translates a circuit once per gate set: the same gates in any order give the same program, and a refusal is remembered', () => {
    const { circuit } = compileQasm(mixedRandomQasm(4, 30, 5));
    const sv1 = GATE_SETS['SV1 (every named gate)']!;
    const first = braketProgram(circuit, new Set(sv1));
    expect(braketProgram(circuit, new Set([...sv1].reverse()))).toBe(first);
    expect(braketProgram(circuit, new Set(GATE_SETS['IonQ (no phaseshift, no cz)']))).not.toBe(first);
    // The same source compiled again is another circuit: nothing is shared by accident.
    expect(braketProgram(compileQasm(mixedRandomQasm(4, 30, 5)).circuit, new Set(sv1))).not.toBe(first);
    let refusal: unknown;
    try {
      braketProgram(circuit, new Set(['cz', 'rx']));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(Error);
    expect(() => braketProgram(circuit, new Set(['rx', 'cz']))).toThrow(refusal);
  });
});

describe.skipIf(!corpusPresent)('Braket translation of QASMBench circuits (small, up to 12 qubits)', () => {
  const small = corpusFiles('qasmbench/small', '.qasm');

  it.each(small.map((path) => [path.slice(CORPUS.length), path]))(
    '%s keeps its state on IonQ gates, or is refused by name',
    async (_, path) => {
      let compiled;
      try {
        compiled = compileQasm(readFileSync(path, 'utf8'));
      } catch {
        return; // The corpus test covers files qpipe cannot parse.
      }
      const { circuit } = compiled;
      if (circuit.numQubits > 12) return;
      const reason = perShotReason(measurementPlan(circuit).operations);
      if (reason !== undefined) {
        expect(() => braketProgram(circuit, new Set(GATE_SETS['IonQ (no phaseshift, no cz)']))).toThrow(
          `Amazon Braket runs only circuits whose measurements come last (${reason})`,
        );
        return;
      }
      expect(await agreement(readFileSync(path, 'utf8'), GATE_SETS['IonQ (no phaseshift, no cz)']!)).toBeLessThan(1e-8);
    },
  );
});

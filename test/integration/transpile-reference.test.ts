/**
 * qpipe's transpiler judged by Qiskit (real Qiskit 2.x, Aer and qiskit-ibm-runtime's fake
 * backends, whose targets are snapshots of IBM's Heron ibm_torino and Eagle ibm_brisbane):
 * every corpus circuit qpipe sends to IBM is accepted by the backend's Target as ISA, is
 * equivalent to its source up to the recorded layout (Aer statevectors), and needs at most
 * 1.3x the two-qubit gates of qiskit.transpile(optimization_level=1, seed_transpiler=0).
 */
import { describe, expect, it } from 'vitest';
import { corpusPresent } from '../support/corpus.ts';
import { referenceMissing } from '../support/reference.ts';
import { comparableCircuits, compareWithQiskit } from '../support/transpile-reference.ts';

const missing = referenceMissing() ?? (corpusPresent ? undefined : 'the corpus (../shared/corpus) is not here');

describe.skipIf(missing !== undefined)(`transpilation against Qiskit${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('every corpus circuit: ISA on Heron and Eagle, equivalent up to the layout, two-qubit gates within 1.3x of Qiskit', async () => {
    const { files } = comparableCircuits();
    expect(files.length).toBeGreaterThan(40);
    const { rows, refused } = await compareWithQiskit(files);
    // Refused only for what IBM's sampler does not run here: measurements before the end, resets, conditions.
    for (const r of refused) expect(r.reason, `${r.device} ${r.file}`).toMatch(/measurements come last/);
    const judged = rows.filter((r) => r.verdict.unloadable === undefined);
    expect(judged.length).toBeGreaterThan(60);
    for (const row of judged) {
      const label = `${row.device} ${row.file}`;
      expect(row.verdict.error, label).toBeUndefined();
      expect(row.verdict.problem ?? 'ISA', label).toBe('ISA');
      expect(row.verdict.isa, label).toBe(true);
      if (row.verdict.distance !== null) expect(row.verdict.distance, label).toBeLessThan(1e-9);
      const theirs = row.verdict.qiskitTwoQubit as number;
      expect(row.twoQubitGates, `${label}: qpipe ${row.twoQubitGates}, Qiskit ${theirs}`).toBeLessThanOrEqual(
        Math.ceil(1.3 * theirs),
      );
    }
  }, 600_000);
});

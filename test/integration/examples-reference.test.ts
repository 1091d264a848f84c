/**
 * Every example circuit (examples/circuits) loads where its readers will take it: in Qiskit
 * (qiskit.qasm2 / qiskit.qasm3, the reference environment), and what qpipe sends to Amazon
 * Braket in Braket's own OpenQASM 3 parser and simulator (amazon-braket-default-simulator),
 * which gives qpipe's distribution. (That local parser reads `include` as a file, so the
 * OpenQASM 3 files themselves, which Qiskit needs with `include "stdgates.inc"`, are not fed to it.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BRAKET_SIMULATOR_GATES, braketProgram } from '../../shared/backends/braket/program.ts';
import { compileQasm } from '../../shared/qasm/index.ts';
import { exactProbabilities } from '../../shared/simulator/run.ts';
import { braketVerdicts, qiskitFacts, referenceMissing } from '../support/reference.ts';

const missing = referenceMissing();
const FOLDER = new URL('../../examples/circuits/', import.meta.url).pathname;
const EXAMPLES = readdirSync(FOLDER)
  .filter((f) => f.endsWith('.qasm'))
  .map((f) => join(FOLDER, f));

describe.skipIf(missing !== undefined)(
  `the example circuits in Qiskit and Braket${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('load in Qiskit, which counts their qubits and bits as qpipe does', async () => {
      const facts = await qiskitFacts(EXAMPLES);
      expect(facts).toHaveLength(EXAMPLES.length);
      expect(facts.filter((f) => f.error !== undefined).map((f) => `${f.path}: ${f.error}`)).toEqual([]);
      for (const fact of facts) {
        const circuit = compileQasm(readFileSync(fact.path, 'utf8')).circuit;
        expect(fact.qubits, fact.path).toBe(circuit.numQubits);
      }
    });

    it("run in Braket's parser and simulator as qpipe sends them, with qpipe's distribution", async () => {
      const programs: { id: string; source: string }[] = [];
      const expected = new Map<string, Record<string, number>>();
      for (const path of EXAMPLES) {
        const circuit = compileQasm(readFileSync(path, 'utf8')).circuit;
        let source: string;
        try {
          source = braketProgram(circuit, new Set(BRAKET_SIMULATOR_GATES)).source;
        } catch {
          continue; // Classical control (teleportation): qpipe does not send it to Braket.
        }
        programs.push({ id: path, source });
        const distribution: Record<string, number> = {};
        for (const [key, p] of Object.entries(await exactProbabilities(circuit, { threads: 1 })))
          distribution[key.replaceAll(' ', '')] = p;
        expected.set(path, distribution);
      }
      expect(programs.length).toBeGreaterThan(EXAMPLES.length / 2);
      const verdicts = await braketVerdicts(programs);
      expect(verdicts.filter((v) => v.error !== undefined).map((v) => `${v.id}: ${v.error}`)).toEqual([]);
      for (const verdict of verdicts) {
        const theirs = verdict.probabilities ?? {};
        for (const [key, p] of Object.entries(expected.get(verdict.id) ?? {}))
          expect(theirs[key] ?? 0, `${verdict.id} ${key}`).toBeCloseTo(p, 9);
      }
    });
  },
);

/**
 * qpipe against Qiskit on every circuit of the shared corpus that Qiskit loads (QASMBench
 * small and medium, the OpenQASM 3 examples): real Qiskit 2.x, qiskit-qasm3-import and Aer
 * in the reference environment, side by side with qpipe's front end and exact simulator.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileQasm } from '../../shared/qasm/index.ts';
import { exactProbabilities } from '../../shared/simulator/run.ts';
import { corpusFiles, corpusPresent } from '../support/corpus.ts';
import { type QiskitFacts, qiskitFacts, referenceMissing } from '../support/reference.ts';

const missing = referenceMissing() ?? (corpusPresent ? undefined : 'the shared corpus is not beside the project');
const files = [
  ...corpusFiles('qasmbench/small', '.qasm'),
  ...corpusFiles('qasmbench/medium', '.qasm'),
  ...corpusFiles('openqasm3/examples', '.qasm'),
];
const short = (path: string) => path.slice(path.indexOf('corpus/') + 'corpus/'.length);

describe.skipIf(missing !== undefined)(
  `qpipe against Qiskit and Aer on the corpus${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let facts: Map<string, QiskitFacts>;
    beforeAll(async () => {
      facts = new Map((await qiskitFacts(files)).map((f) => [f.path, f]));
    }, 600_000);

    const loaded = () => files.filter((f) => facts.get(f)?.error === undefined);

    it('loads every circuit Qiskit loads, with the same qubits, clbits, depth and operation counts', () => {
      expect(loaded().length).toBeGreaterThan(100);
      const differences: string[] = [];
      for (const path of loaded()) {
        const qiskit = facts.get(path) as QiskitFacts;
        let metadata;
        try {
          metadata = compileQasm(readFileSync(path, 'utf8'), { limits: { maxGates: 20_000_000 } }).metadata;
        } catch (error) {
          differences.push(
            `${short(path)}: qpipe refuses what Qiskit loads: ${(error as Error).message.split('\n')[0]}`,
          );
          continue;
        }
        const ours = {
          qubits: metadata.qubits,
          clbits: metadata.clbits,
          depth: metadata.depth,
          ops: metadata.gateCounts,
        };
        const theirs = { qubits: qiskit.qubits, clbits: qiskit.clbits, depth: qiskit.depth, ops: qiskit.ops };
        if (!isDeepStrictEqual(ours, theirs)) {
          differences.push(`${short(path)}: qpipe ${JSON.stringify(ours)}, Qiskit ${JSON.stringify(theirs)}`);
        }
      }
      expect(differences.join('\n')).toBe('');
    });

    it("gives Aer's statevector probabilities of the classical bits, within 1e-9, in Qiskit's bit order", async () => {
      const differences: string[] = [];
      let compared = 0;
      for (const path of loaded()) {
        const reference = facts.get(path)?.probabilities;
        if (!reference) continue;
        const circuit = compileQasm(readFileSync(path, 'utf8'), { limits: { maxGates: 20_000_000 } }).circuit;
        // qpipe writes registers apart, as Qiskit's counts do; the reference has the bits alone.
        const ours: Record<string, number> = {};
        for (const [key, p] of Object.entries(await exactProbabilities(circuit, { threads: 1 }))) {
          ours[key.replaceAll(' ', '')] = p;
        }
        compared++;
        let worst = 0;
        for (const key of new Set([...Object.keys(ours), ...Object.keys(reference)])) {
          worst = Math.max(worst, Math.abs((ours[key] ?? 0) - (reference[key] ?? 0)));
        }
        if (!(worst <= 1e-9)) differences.push(`${short(path)}: differs by ${worst}`);
      }
      expect(compared).toBeGreaterThan(80);
      expect(differences.join('\n')).toBe('');
    }, 600_000);
  },
);

/**
 * The programs qpipe would send to Amazon Braket, run in Braket's own local simulator (its
 * OpenQASM 3 parser and state-vector simulator, amazon-braket-default-simulator, in the
 * reference environment): for every corpus circuit with terminal measurements up to 12
 * qubits, and every device gate set qpipe knows (the on-demand simulators' and each QPU's),
 * Braket accepts the program and it gives the source circuit's distribution.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BRAKET_SIMULATOR_GATES, braketProgram } from '../../shared/backends/braket/program.ts';
import { builtinBackends } from '../../shared/backends/catalog.ts';
import { compileQasm } from '../../shared/qasm/index.ts';
import { exactProbabilities } from '../../shared/simulator/run.ts';
import { corpusFiles, corpusPresent } from '../support/corpus.ts';
import { braketVerdicts, referenceMissing } from '../support/reference.ts';

const missing = referenceMissing() ?? (corpusPresent ? undefined : 'the shared corpus is not beside the project');
const MAX_QUBITS = 12;

/** Gate sets by device: the simulators take every Braket gate; each QPU its own list. */
const gateSets = new Map<string, ReadonlySet<string>>([['braket-simulators', new Set(BRAKET_SIMULATOR_GATES)]]);
for (const backend of builtinBackends({ simulatorMaxQubits: 30 })) {
  if (backend.type === 'aws_braket' && backend.supportedGates)
    gateSets.set(backend.name, new Set(backend.supportedGates));
}

describe.skipIf(missing !== undefined)(
  `qpipe's Braket programs in Braket's local simulator${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('are accepted by Braket and give the source distribution within 1e-9, for every device gate set', async () => {
      const files = [
        ...corpusFiles('qasmbench/small', '.qasm'),
        ...corpusFiles('qasmbench/medium', '.qasm'),
        ...corpusFiles('openqasm3/examples', '.qasm'),
      ];
      const programs: { id: string; source: string }[] = [];
      const expected = new Map<string, Record<string, number>>();
      for (const path of files) {
        let circuit;
        try {
          circuit = compileQasm(readFileSync(path, 'utf8')).circuit;
        } catch {
          continue; // Refused by qpipe: nothing would be sent.
        }
        if (circuit.numQubits > MAX_QUBITS) continue;
        for (const [device, gates] of gateSets) {
          let source: string;
          try {
            source = braketProgram(circuit, gates).source;
          } catch {
            continue; // Mid-circuit measurement or control flow: qpipe does not send it to Braket.
          }
          const id = `${path.slice(path.indexOf('corpus/') + 7)} on ${device}`;
          programs.push({ id, source });
          if (!expected.has(path)) {
            const distribution: Record<string, number> = {};
            for (const [key, p] of Object.entries(await exactProbabilities(circuit, { threads: 1 }))) {
              distribution[key.replaceAll(' ', '')] = p;
            }
            expected.set(path, distribution);
          }
        }
      }
      const verdicts = await braketVerdicts(programs);
      expect(verdicts).toHaveLength(programs.length);
      const problems: string[] = [];
      for (const verdict of verdicts) {
        const path = files.find((f) => verdict.id.startsWith(f.slice(f.indexOf('corpus/') + 7))) as string;
        if (verdict.error !== undefined) {
          problems.push(`${verdict.id}: Braket refuses it: ${verdict.error}`);
          continue;
        }
        const ours = expected.get(path) as Record<string, number>;
        const theirs = verdict.probabilities as Record<string, number>;
        let worst = 0;
        for (const key of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
          worst = Math.max(worst, Math.abs((ours[key] ?? 0) - (theirs[key] ?? 0)));
        }
        if (!(worst <= 1e-9)) problems.push(`${verdict.id}: differs by ${worst}`);
      }
      expect(programs.length).toBeGreaterThan(100);
      expect(problems.join('\n')).toBe('');
    }, 900_000);
  },
);

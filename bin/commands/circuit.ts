/** Prints `qpipe validate` and `qpipe simulate` results. */
import { renderHistogram } from '../../shared/cli/histogram.ts';
import { simulateFile, validateFile } from '../../shared/cli/circuit-commands.ts';
import type { QpipeConfig } from '../../shared/config.ts';
import type { CircuitMetadata } from '../../shared/resources/schema.ts';
import { writeErr, writeOut } from '../terminal.ts';

function describeMetadata(m: CircuitMetadata): string {
  const counts = Object.entries(m.gateCounts)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  return [
    `  format ${m.format}  qubits ${m.qubits}  clbits ${m.clbits}  depth ${m.depth}`,
    `  gates ${m.gateCount} (two-qubit ${m.twoQubitGates})  measurements ${m.measurements}` +
      `${m.midCircuitMeasurement ? '  mid-circuit measurement' : ''}${m.classicalControl ? '  classical control' : ''}`,
    `  operations: ${counts || 'none'}`,
    `  hash ${m.hash}`,
  ].join('\n');
}

/** Validates a circuit or manifest; exit code 1 when anything is invalid. */
export async function validateCommand(
  path: string,
  options: { config: QpipeConfig; output: 'text' | 'json'; inputs: Record<string, number> },
): Promise<number> {
  const entries = await validateFile(path, { config: options.config, inputs: options.inputs });
  if (options.output === 'json') {
    const single = entries.length === 1 && !/\.ya?ml$/i.test(path) ? entries[0] : undefined;
    writeOut(
      `${JSON.stringify(single ? (single.valid ? single.metadata : { error: single.error }) : entries, null, 2)}\n`,
    );
  } else {
    for (const entry of entries) {
      if (!entry.valid) writeErr(`${entry.error}\n`);
      else
        writeOut(
          `${entry.subject}: valid\n${entry.metadata ? describeMetadata(entry.metadata) : `  ${entry.error}`}\n`,
        );
    }
  }
  return entries.length > 0 && entries.every((e) => e.valid) ? 0 : 1;
}

/** Simulates a circuit file and prints counts or probabilities. */
export async function simulateCommand(
  path: string,
  options: {
    config: QpipeConfig;
    output: 'text' | 'json';
    shots: number;
    seed?: number;
    probabilities: boolean;
    inputs: Record<string, number>;
  },
): Promise<number> {
  const result = await simulateFile(path, options);
  const values = result.probabilities ?? result.counts ?? {};
  if (options.output === 'json') {
    writeOut(`${JSON.stringify(values, null, 2)}\n`);
    return 0;
  }
  if (result.probabilities) {
    const width = Math.max(...Object.keys(values).map((k) => k.length));
    const sorted = Object.entries(values).sort(([a], [b]) => (a < b ? -1 : 1));
    for (const [key, p] of sorted) writeOut(`  ${key.padStart(width)}  ${p.toFixed(6)}\n`);
  } else {
    writeOut(`${renderHistogram(values)}\n`);
  }
  if (result.note) writeErr(`note: ${result.note}\n`);
  return 0;
}

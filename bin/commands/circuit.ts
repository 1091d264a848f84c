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
      for (const warning of entry.warnings ?? []) writeErr(`${entry.subject}: warning: ${warning}\n`);
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
    /** With probabilities: only the most likely N. */
    top?: number;
    inputs: Record<string, number>;
  },
): Promise<number> {
  const result = await simulateFile(path, options);
  if (result.probabilities) {
    printProbabilities(result.probabilities, options);
    return 0;
  }
  const counts = result.counts ?? {};
  if (options.output === 'json') writeOut(`${JSON.stringify(counts, null, 2)}\n`);
  else writeOut(`${renderHistogram(counts)}\n`);
  if (result.note) writeErr(`note: ${result.note}\n`);
  return 0;
}

/** Six decimals, or six significant digits for what six decimals would round away. */
const formatProbability = (p: number) => (p >= 1e-4 ? p.toFixed(6) : p.toExponential(5));

/** Lines per write: one write per outcome would cost a system call each for a million outcomes. */
const CHUNK = 4096;

/** Every outcome (or the `top` most likely), most likely first, ties in bit order. */
function printProbabilities(
  probabilities: Record<string, number>,
  options: { output: 'text' | 'json'; top?: number },
): void {
  // Equal to 12 decimals counts as a tie (then bit order): sums of floats differ in the last bits.
  const rank = (p: number) => Math.round(p * 1e12);
  const all = Object.entries(probabilities).sort(([a, p], [b, q]) => rank(q) - rank(p) || (a < b ? -1 : 1));
  const shown = options.top === undefined ? all : all.slice(0, options.top);
  if (options.output === 'json') {
    writeOut(`${JSON.stringify(Object.fromEntries(shown), null, 2)}\n`);
  } else {
    // A loop, not Math.max(...keys): a spread of 2^17 or more arguments overflows the stack.
    let width = 0;
    for (const [key] of shown) width = Math.max(width, key.length);
    for (let start = 0; start < shown.length; start += CHUNK) {
      writeOut(
        shown
          .slice(start, start + CHUNK)
          .map(([key, p]) => `  ${key.padStart(width)}  ${formatProbability(p)}\n`)
          .join(''),
      );
    }
  }
  if (shown.length < all.length) {
    writeErr(`note: ${all.length - shown.length} less likely outcomes not shown (--top ${options.top})\n`);
  }
}

/** Prints `qpipe transpile`: the OpenQASM 3 a device would run, or it with its layout and figures as JSON. */
import { transpileFile, type TranspileFileOptions } from '../../shared/cli/transpile-command.ts';
import { writeErr, writeOut } from '../terminal.ts';

export async function transpileCommand(
  path: string,
  options: TranspileFileOptions & { output: 'qasm3' | 'json' },
): Promise<number> {
  const result = await transpileFile(path, options);
  if (options.output === 'json') {
    const { qasm, layout, twoQubitGates, depth, swaps, backend } = result;
    writeOut(`${JSON.stringify({ backend, qasm, layout, twoQubitGates, depth, swaps }, null, 2)}\n`);
  } else {
    writeOut(result.qasm);
    // The figures go to stderr, so stdout stays a program to save or pipe.
    const layout = result.layout.final.map((p, q) => `${q}→$${p}`).join(' ');
    writeErr(
      `${result.backend}: ${result.twoQubitGates} two-qubit gate(s), ${result.swaps} swap(s), depth ${result.depth}; ` +
        `qubits end on ${layout}\n`,
    );
  }
  return 0;
}

/**
 * The reference environment (test/tools/install-reference-env.sh: Qiskit, Aer, IBM's fake
 * backends, Braket's local simulator, pinned, in the tools cache) and the peers that ask it
 * about files: what qpipe's results are checked against.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toolsCache, unavailableUnlessCi } from './kube-apiserver.ts';

const PYTHON = join(toolsCache(), 'reference-env-1', 'bin', 'python');

/** Why the reference environment cannot be used here, or undefined when it can (never skipped under CI). */
export function referenceMissing(): string | undefined {
  return unavailableUnlessCi(
    existsSync(PYTHON)
      ? undefined
      : `the reference environment is not installed in ${toolsCache()} (run test/tools/install-reference-env.sh; .ci/run does)`,
  );
}

/** What Qiskit (qiskit.qasm2/qasm3 and Aer) says about one file. */
export interface QiskitFacts {
  readonly path: string;
  readonly error?: string;
  readonly qubits?: number;
  readonly clbits?: number;
  readonly depth?: number;
  readonly ops?: Record<string, number>;
  /** Of the classical bits, Qiskit's order; null when measurements are not all terminal or the circuit is large. */
  readonly probabilities?: Record<string, number> | null;
}

/** Runs a peer script of test/reference/ on `input` (JSON on stdin), one JSON object per line back. */
function runPeer<T>(script: string, input: unknown): Promise<T[]> {
  const path = new URL(`../reference/${script}`, import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [path], { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${script} failed: ${stderr || error.message}`));
      else
        resolve(
          stdout
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as T),
        );
    });
    child.stdin?.end(JSON.stringify(input));
  });
}

/** What Qiskit says about each file (test/reference/qiskit_peer.py), in one Python process. */
export function qiskitFacts(paths: readonly string[]): Promise<QiskitFacts[]> {
  return runPeer<QiskitFacts>('qiskit_peer.py', paths);
}

/** What Braket's local simulator makes of one program. */
export interface BraketVerdict {
  readonly id: string;
  readonly error?: string;
  readonly probabilities?: Record<string, number>;
}

/** Runs OpenQASM 3 programs in Braket's own parser and simulator (test/reference/braket_peer.py). */
export function braketVerdicts(programs: readonly { id: string; source: string }[]): Promise<BraketVerdict[]> {
  return runPeer<BraketVerdict>('braket_peer.py', programs);
}

/** Qiskit's verdict on one of qpipe's transpiled circuits (test/reference/transpile_peer.py). */
export interface TranspileVerdict {
  readonly id: string;
  readonly error?: string;
  /** Why Qiskit cannot load the source circuit (its importer lacks a feature the file uses). */
  readonly unloadable?: string;
  /** Every instruction is in the fake backend's Target on its qubits. */
  readonly isa?: boolean;
  readonly problem?: string;
  /** 1 - |⟨source|transpiled⟩| by Aer, through the final layout; null when too large. */
  readonly distance?: number | null;
  /** Two-qubit gates after qiskit.transpile(optimization_level=1, seed_transpiler=0), and its time. */
  readonly qiskitTwoQubit?: number;
  readonly qiskitMs?: number;
}

/** Has Qiskit judge qpipe's transpiled circuits against IBM's fake backends. */
export function transpileVerdicts(
  cases: readonly { id: string; path: string; device: string; transpiled: string; final: readonly number[] }[],
): Promise<TranspileVerdict[]> {
  return runPeer<TranspileVerdict>('transpile_peer.py', cases);
}

/**
 * qpipe's transpiler beside Qiskit's on the corpus (QASMBench small and medium, up to 16
 * qubits, measurements last) for IBM's fake Heron (ibm_torino) and Eagle (ibm_brisbane):
 * Qiskit judges each transpiled circuit (ISA, equivalence by Aer) and transpiles the source
 * itself at optimization_level=1. Used by the reference test and by the benchmark's table.
 */
import { readFileSync } from 'node:fs';
import { compileQasm } from '../../shared/qasm/index.ts';
import { buildTarget, IBM_DEVICES } from '../../shared/transpile/target.ts';
import { transpile } from '../../shared/transpile/transpile.ts';
import { CORPUS, corpusFiles } from './corpus.ts';
import { transpileVerdicts, type TranspileVerdict } from './reference.ts';

export const COMPARED_DEVICES = ['ibm_torino', 'ibm_brisbane'] as const;
const MAX_QUBITS = 16;

/** One circuit on one device, both transpilers. */
export interface TranspileComparison {
  readonly device: string;
  readonly file: string;
  readonly qubits: number;
  readonly twoQubitGates: number;
  readonly swaps: number;
  readonly ms: number;
  readonly verdict: TranspileVerdict;
}

/** Corpus circuits qpipe can send to IBM, with why the others are left out. */
export function comparableCircuits(): { files: string[]; leftOut: { file: string; reason: string }[] } {
  const files: string[] = [];
  const leftOut: { file: string; reason: string }[] = [];
  for (const path of [...corpusFiles('qasmbench/small', '.qasm'), ...corpusFiles('qasmbench/medium', '.qasm')]) {
    const file = path.slice(CORPUS.length);
    try {
      const { circuit } = compileQasm(readFileSync(path, 'utf8'));
      if (circuit.numQubits > MAX_QUBITS) leftOut.push({ file, reason: `${circuit.numQubits} qubits` });
      else files.push(path);
    } catch (error) {
      leftOut.push({ file, reason: (error as Error).message.slice(0, 80) });
    }
  }
  return { files, leftOut };
}

/** Transpiles every file for every compared device, and has Qiskit judge and race each. */
export async function compareWithQiskit(files: readonly string[]): Promise<{
  rows: TranspileComparison[];
  refused: { device: string; file: string; reason: string }[];
}> {
  const ours = new Map<string, Omit<TranspileComparison, 'verdict'>>();
  const cases = [];
  const refused: { device: string; file: string; reason: string }[] = [];
  for (const device of COMPARED_DEVICES) {
    const data = IBM_DEVICES.get(device);
    if (!data) throw new Error(`no device data for ${device}`);
    const target = buildTarget(data.name, data.qubits, data.basisGates, data.couplingMap);
    for (const path of files) {
      const file = path.slice(CORPUS.length);
      const { circuit } = compileQasm(readFileSync(path, 'utf8'));
      const started = performance.now();
      let result;
      try {
        result = transpile(circuit, target, { optimizationLevel: 1, seed: 0 });
      } catch (error) {
        refused.push({ device, file, reason: (error as Error).message });
        continue;
      }
      const ms = performance.now() - started;
      const id = `${device} ${file}`;
      ours.set(id, {
        device,
        file,
        qubits: circuit.numQubits,
        twoQubitGates: result.twoQubitGates,
        swaps: result.swaps,
        ms,
      });
      cases.push({ id, path, device, transpiled: result.qasm, final: result.layout.final });
    }
  }
  const verdicts = await transpileVerdicts(cases);
  const rows = verdicts.map((verdict) => ({
    ...(ours.get(verdict.id) as Omit<TranspileComparison, 'verdict'>),
    verdict,
  }));
  return { rows, refused };
}

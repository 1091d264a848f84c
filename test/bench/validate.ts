/**
 * Front-end speed: `qpipe validate` on a 20,000-gate OpenQASM 2 file, as a whole process
 * and in process, against quantum-circuit's importer on the same file.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A seeded random OpenQASM 2 circuit of `gates` gates on 20 qubits. */
export function randomQasm2(gates: number, seed = 1): string {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state;
  };
  const lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', 'qreg q[20];', 'creg c[20];'];
  const oneQubit = ['h', 'x', 't', 's', 'sdg'];
  for (let i = 0; i < gates; i++) {
    const a = next() % 20;
    const b = (a + 1 + (next() % 19)) % 20;
    switch (next() % 4) {
      case 0:
        lines.push(`cx q[${a}],q[${b}];`);
        break;
      case 1:
        lines.push(`rz(${((next() % 1000) / 100).toFixed(2)}) q[${a}];`);
        break;
      case 2:
        lines.push(`u3(0.1,0.2,0.3) q[${a}];`);
        break;
      default:
        lines.push(`${oneQubit[next() % oneQubit.length]} q[${a}];`);
    }
  }
  lines.push('measure q -> c;');
  return `${lines.join('\n')}\n`;
}

/** Runs the two measurements alternately, so a machine that speeds up or slows down affects both; best of `runs`. */
function sideBySide(runs: number, own: () => number, peer: () => number): { qpipe: number; peer: number } {
  let best = { qpipe: Infinity, peer: Infinity };
  for (let i = 0; i < runs; i++) {
    best = { qpipe: Math.min(best.qpipe, own()), peer: Math.min(best.peer, peer()) };
  }
  return best;
}

function wallClock(args: readonly string[], cwd?: string): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
  return elapsed;
}

const PEER_IMPORT = `
import QuantumCircuit from 'quantum-circuit';
import { readFileSync } from 'node:fs';
const source = readFileSync(process.argv[2], 'utf8');
const started = performance.now();
const circuit = new QuantumCircuit();
let failed;
circuit.importQASM(source, (errors) => { if (errors && errors.length) failed = errors; });
if (failed) { console.error(JSON.stringify(failed.slice(0, 3))); process.exit(1); }
console.log(performance.now() - started);
`;

const OWN_IMPORT = `
import { readFileSync } from 'node:fs';
const { compileQasm } = await import(process.argv[3]);
const source = readFileSync(process.argv[2], 'utf8');
const started = performance.now();
compileQasm(source);
console.log(performance.now() - started);
`;

/** One benchmark's figures in milliseconds. */
export interface BenchRow {
  readonly name: string;
  readonly qpipe: number;
  readonly peer: number;
}

/** Runs the validate benchmarks. */
export async function validateBench(options: { work: string; peers: string }): Promise<BenchRow[]> {
  const file = join(options.work, 'random-20000.qasm');
  writeFileSync(file, randomQasm2(20_000));
  const root = new URL('../../', import.meta.url).pathname;
  const peerScript = join(options.peers, 'import.mjs');
  writeFileSync(peerScript, PEER_IMPORT);
  const ownScript = join(options.work, 'own-import.mjs');
  writeFileSync(ownScript, OWN_IMPORT);
  const compiled = join(root, 'dist/shared/qasm/index.js');

  const inProcess =
    (script: string, extra: string[] = []) =>
    () => {
      const result = spawnSync(process.execPath, [script, file, ...extra], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(result.stderr);
      return Number(result.stdout.trim());
    };
  return [
    {
      name: '`qpipe validate`, 20,000-gate OpenQASM 2 file, whole process (best of 5, alternating)',
      ...sideBySide(
        5,
        () => wallClock([join(root, 'bin/qpipe.js'), 'validate', file, '--output', 'json']),
        () => wallClock([peerScript, file]),
      ),
    },
    {
      name: 'parse and build the circuit in process, cold (qpipe compileQasm vs quantum-circuit importQASM)',
      ...sideBySide(5, inProcess(ownScript, [compiled]), inProcess(peerScript)),
    },
  ];
}

/**
 * Simulator speed: GHZ, QFT and a seeded layered random circuit at 16–24 qubits, each run
 * side by side by qpipe (compiled build), a plain one-pass-per-gate Float64Array kernel,
 * quantum-circuit and qsharp-lang (the peers in child processes, given a minute each), plus
 * 1024-shot sampling, memory bandwidth, a 28-qubit run and the simulator's load time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import type { Circuit, Primitive } from '../../shared/qasm/circuit.ts';
import { ghzQasm, layeredRandomQasm, qftQasm } from '../support/random-circuits.ts';

const PEER_LIMIT_MS = 60_000;

const QUANTUM_CIRCUIT = `
import QuantumCircuit from 'quantum-circuit';
import { readFileSync } from 'node:fs';
const source = readFileSync(process.argv[2], 'utf8');
const shots = Number(process.argv[3] ?? 0);
const circuit = new QuantumCircuit();
circuit.importQASM(source, (errors) => { if (errors && errors.length) { console.error(JSON.stringify(errors.slice(0, 3))); process.exit(1); } });
const started = performance.now();
circuit.run();
if (shots > 0) circuit.measureAllMultishot(shots);
console.log(performance.now() - started);
`;

const QSHARP = `
import { getCompiler, loadWasmModule, QscEventTarget } from 'qsharp-lang';
import { readFileSync } from 'node:fs';
await loadWasmModule(readFileSync(new URL('./node_modules/qsharp-lang/lib/web/qsc_wasm_bg.wasm', import.meta.url)).buffer);
const compiler = await getCompiler();
const source = readFileSync(process.argv[2], 'utf8');
const started = performance.now();
await compiler.run({ sources: [['main.qasm', source]], languageFeatures: [], projectType: 'openqasm' }, '', 1, new QscEventTarget(true));
console.log(performance.now() - started);
`;

/** The same circuit in OpenQASM 3, without measurements, for qsharp-lang's OpenQASM front end. */
function toQasm3(qasm2: string): string {
  return qasm2
    .replace('OPENQASM 2.0;\ninclude "qelib1.inc";', 'OPENQASM 3.0;\ninclude "stdgates.inc";')
    .replace(/qreg q\[(\d+)\];/, 'qubit[$1] q;')
    .replace(/creg c\[(\d+)\];\n/, '')
    .replaceAll('cu1(', 'cp(')
    .replace('measure q -> c;\n', '');
}

const withoutMeasurement = (qasm2: string) => qasm2.replace(/creg c\[\d+\];\n/, '').replace('measure q -> c;\n', '');

/** Qiskit Aer in the reference environment (test/tools/install-reference-env.sh), when installed. */
const AER_PYTHON = join(
  process.env['QPIPE_TOOLS_CACHE'] ?? join(homedir(), '.cache', 'qpipe-tools'),
  'reference-env-1',
  'bin',
  'python',
);
const AER_SCRIPT = new URL('../reference/aer_bench.py', import.meta.url).pathname;

/** Aer's times for a file: import, and the run in process with fusion on and off; undefined without Aer. */
function aerTimes(
  file: string,
  threads: number,
): { importMs: number; fusionMs: number; noFusionMs: number } | undefined {
  if (!existsSync(AER_PYTHON)) return undefined;
  const result = spawnSync(AER_PYTHON, [AER_SCRIPT, file, String(threads)], {
    encoding: 'utf8',
    timeout: 5 * PEER_LIMIT_MS,
  });
  if (result.error || result.status !== 0) return undefined;
  return JSON.parse(result.stdout.trim().split('\n').pop() as string) as ReturnType<typeof aerTimes>;
}

/** Milliseconds a peer script reports, or undefined when it did not finish within the limit. */
function peerTime(script: string, file: string, extra: string[] = []): number | undefined {
  const result = spawnSync(process.execPath, [script, file, ...extra], { encoding: 'utf8', timeout: PEER_LIMIT_MS });
  if (result.error || result.status !== 0) return undefined;
  return Number(result.stdout.trim().split('\n').pop());
}

/** A plain kernel: one pass over the state per gate, controls tested per amplitude. */
function onePassPerGate(circuit: Circuit): Float64Array {
  const a = new Float64Array(2 ** (circuit.numQubits + 1));
  a[0] = 1;
  const apply1 = (gate: Primitive) => {
    const m = gate.matrix;
    const stride = 2 ** (gate.targets[0] as number);
    let controls = 0;
    for (const c of gate.controls) controls |= 1 << c;
    for (let block = 0; block < a.length / 2; block += 2 * stride) {
      for (let i = block; i < block + stride; i++) {
        if ((i & controls) !== controls) continue;
        const i0 = 2 * i;
        const i1 = 2 * (i + stride);
        const ar = a[i0] as number;
        const ai = a[i0 + 1] as number;
        const br = a[i1] as number;
        const bi = a[i1 + 1] as number;
        a[i0] = (m[0] as number) * ar - (m[1] as number) * ai + (m[2] as number) * br - (m[3] as number) * bi;
        a[i0 + 1] = (m[0] as number) * ai + (m[1] as number) * ar + (m[2] as number) * bi + (m[3] as number) * br;
        a[i1] = (m[4] as number) * ar - (m[5] as number) * ai + (m[6] as number) * br - (m[7] as number) * bi;
        a[i1 + 1] = (m[4] as number) * ai + (m[5] as number) * ar + (m[6] as number) * bi + (m[7] as number) * br;
      }
    }
  };
  for (const op of circuit.operations) {
    if (op.kind !== 'gate') continue;
    for (const part of op.parts) {
      if (part.targets.length !== 1) throw new Error(`the plain kernel takes one-target gates only, not ${part.name}`);
      apply1(part);
    }
  }
  return a;
}

/** The machine's copy bandwidth: bytes read plus written per second, copying 256 MiB. */
function copyBandwidth(): number {
  const source = new Float64Array(2 ** 25).fill(1);
  const target = new Float64Array(source.length);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const started = performance.now();
    target.set(source);
    best = Math.min(best, performance.now() - started);
  }
  return (2 * source.byteLength) / (best / 1000);
}

/** One row of the simulator table. */
export interface SimulatorRow {
  readonly circuit: string;
  readonly qubits: number;
  readonly gates: number;
  readonly passes: number;
  /** Best of two runs, the default kernels (WebAssembly SIMD). */
  readonly qpipeMs: number;
  /** One run with the scalar JavaScript kernels, the fallback and reference. */
  readonly scalarMs: number;
  readonly baselineMs?: number;
  readonly quantumCircuitMs?: number;
  readonly qsharpMs?: number;
  /** Qiskit Aer's statevector run in process, same threads, fusion on and off. */
  readonly aerMs?: number;
  readonly aerNoFusionMs?: number;
  /** Bytes a one-pass-per-gate simulator would move (read and write per gate), per second. */
  readonly effectiveBandwidth: number;
}

/** Runs the simulator benchmarks; returns the rows and the extra figures. */
export async function simulatorBench(options: { work: string; peers: string; root: string }) {
  const dist = (path: string) => import(join(options.root, 'dist', path));
  // Load time as a Lambda cold start pays it: a fresh process importing the simulator.
  const load = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const t = performance.now(); await import(${JSON.stringify(join(options.root, 'dist/shared/simulator/run.js'))}); console.log(performance.now() - t);`,
    ],
    { encoding: 'utf8' },
  );
  const loadMs = Number(load.stdout.trim());
  const { simulate, finalAmplitudes, stateVectorBytes } = await dist('shared/simulator/run.js');
  const { compileQasm } = await dist('shared/qasm/index.js');
  const { fuseGates, DEFAULT_FUSION_WIDTH } = await dist('shared/simulator/fusion.js');
  const qcScript = join(options.peers, 'simulate-quantum-circuit.mjs');
  const qsScript = join(options.peers, 'simulate-qsharp.mjs');
  writeFileSync(qcScript, QUANTUM_CIRCUIT);
  writeFileSync(qsScript, QSHARP);

  const bandwidth = copyBandwidth();
  const rows: SimulatorRow[] = [];
  let aerImportMs: number | undefined;
  // A peer that missed the limit at one size is not tried at larger ones.
  const gaveUp = new Set<string>();
  const circuits = [
    ['GHZ', ghzQasm],
    ['QFT', qftQasm],
    ['random, depth 20', (n: number) => layeredRandomQasm(n, 20, 1)],
  ] as const;
  for (const qubits of [16, 20, 22, 24]) {
    for (const [name, make] of circuits) {
      const source = make(qubits);
      const circuit: Circuit = compileQasm(source).circuit;
      const gates = circuit.operations.flatMap((op) => (op.kind === 'gate' ? op.parts : []));
      const timed = async (settings: object) => {
        const started = performance.now();
        await finalAmplitudes(circuit, settings);
        return performance.now() - started;
      };
      const qpipeMs = Math.min(await timed({}), await timed({}));
      const scalarMs = await timed({ kernels: 'scalar' });
      let baselineMs: number | undefined;
      if (name.startsWith('random')) {
        const at = performance.now();
        onePassPerGate(circuit);
        baselineMs = performance.now() - at;
      }
      const peer = (label: string, script: string, text: string) => {
        if (gaveUp.has(`${label} ${name}`)) return undefined;
        const file = join(options.work, `${label}-${name.replace(/\W+/g, '-')}-${qubits}.qasm`);
        writeFileSync(file, text);
        const ms = peerTime(script, file);
        if (ms === undefined) gaveUp.add(`${label} ${name}`);
        return ms;
      };
      const quantumCircuitMs = peer('qc', qcScript, withoutMeasurement(source));
      const qsharpMs = peer('qs', qsScript, toQasm3(source));
      const aerFile = join(options.work, `aer-${name.replace(/\W+/g, '-')}-${qubits}.qasm`);
      writeFileSync(aerFile, source);
      const aer = aerTimes(aerFile, availableParallelism());
      if (aer) aerImportMs = aer.importMs;
      const row: SimulatorRow = {
        circuit: name,
        qubits,
        gates: gates.length,
        passes: fuseGates(gates, DEFAULT_FUSION_WIDTH).length,
        qpipeMs,
        scalarMs,
        effectiveBandwidth: (gates.length * 2 * stateVectorBytes(qubits)) / (qpipeMs / 1000),
        ...(baselineMs === undefined ? {} : { baselineMs }),
        ...(quantumCircuitMs === undefined ? {} : { quantumCircuitMs }),
        ...(qsharpMs === undefined ? {} : { qsharpMs }),
        ...(aer === undefined ? {} : { aerMs: aer.fusionMs, aerNoFusionMs: aer.noFusionMs }),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }

  // Sampling 1024 shots from the 16-qubit QFT state (every outcome possible): the time
  // beyond computing the state, for qpipe and quantum-circuit.
  const sampleSource = qftQasm(16);
  const sampleCircuit: Circuit = compileQasm(sampleSource).circuit;
  const { samplingMs } = await simulate(sampleCircuit, { shots: 1024, seed: 1 });
  const sampling = { qpipeMs: samplingMs as number, quantumCircuitMs: undefined as number | undefined };
  const sampleFile = join(options.work, 'sample-16.qasm');
  writeFileSync(sampleFile, withoutMeasurement(sampleSource));
  const stateThenShots = peerTime(qcScript, sampleFile, ['1024']);
  const stateAlone = peerTime(qcScript, sampleFile);
  if (stateThenShots !== undefined && stateAlone !== undefined) sampling.quantumCircuitMs = stateThenShots - stateAlone;

  // 28 qubits: GHZ (few passes) to show the state fits and runs; resident memory afterwards.
  const big = compileQasm(ghzQasm(28)).circuit;
  const bigStarted = performance.now();
  await simulate(big, { shots: 1024, seed: 1 });
  const big28 = { ms: performance.now() - bigStarted, rssBytes: process.memoryUsage().rss };

  // A whole small job as users run it, start-up included: `qpipe simulate` (12 qubits, 1024
  // shots) against `python` loading the same file into Aer and sampling it.
  const smallFile = join(options.work, 'job-12.qasm');
  writeFileSync(smallFile, layeredRandomQasm(12, 20, 1));
  const wall = (command: string, args: string[]) => {
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const at = performance.now();
      const run = spawnSync(command, args, { encoding: 'utf8' });
      if (run.status !== 0) return undefined;
      best = Math.min(best, performance.now() - at);
    }
    return best;
  };
  const smallJob = {
    qpipeMs: wall(process.execPath, [join(options.root, 'bin/qpipe.js'), 'simulate', smallFile, '--shots', '1024']),
    aerMs: existsSync(AER_PYTHON) ? wall(AER_PYTHON, [AER_SCRIPT, smallFile, '1', '1024']) : undefined,
  };

  return { rows, bandwidth, sampling, big28, loadMs, aerImportMs, smallJob };
}

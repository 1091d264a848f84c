/**
 * Benchmarks (`npm run bench`, or `npm run bench -- validate|simulator|transpile` for one
 * part). Each figure is measured side by side in one run and reported as a ratio. The
 * JavaScript peers live in test/bench/peers, a separate package this script installs, so
 * they never enter qpipe's own dependency tree.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { simulatorBench } from './simulator.ts';
import { transpileBench } from './transpile.ts';
import { validateBench } from './validate.ts';

const PARTS = ['validate', 'simulator', 'transpile'];
const only = process.argv[2];
if (only !== undefined && !PARTS.includes(only)) throw new Error(`bench parts: ${PARTS.join(', ')} (got ${only})`);
const runs = (part: string) => only === undefined || only === part;

const peers = new URL('./peers/', import.meta.url).pathname;
if (!existsSync(join(peers, 'node_modules/quantum-circuit')) || !existsSync(join(peers, 'node_modules/qsharp-lang'))) {
  console.log('installing benchmark peers in test/bench/peers …');
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: peers, stdio: 'inherit' });
}
// The CLI is measured as users run it: compiled.
spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

const work = mkdtempSync(join(tmpdir(), 'qpipe-bench-'));
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
);
const rows = runs('validate') ? await validateBench({ work, peers }) : [];
if (rows.length > 0) console.log('\n| benchmark | qpipe | quantum-circuit | ratio |\n|---|---|---|---|');
for (const row of rows)
  console.log(
    `| ${row.name} | ${row.qpipe.toFixed(0)} ms | ${row.peer.toFixed(0)} ms | ${(row.peer / row.qpipe).toFixed(1)}x |`,
  );
if (runs('transpile')) await transpileBench();

const root = new URL('../../', import.meta.url).pathname;
if (!runs('simulator')) process.exit(0);
const sim = await simulatorBench({ work, peers, root });
const ms = (value: number | undefined) => (value === undefined ? '> 60 s' : `${value.toFixed(0)} ms`);
const ratio = (peer: number | undefined, own: number) => (peer === undefined ? '' : ` (${(peer / own).toFixed(1)}x)`);
const gbps = (bytesPerSecond: number) => `${(bytesPerSecond / 1e9).toFixed(1)} GB/s`;
console.log(
  `\nmachine copy bandwidth (read + write): ${gbps(sim.bandwidth)}; simulator module load: ${sim.loadMs.toFixed(0)} ms`,
);
console.log(
  '\n| circuit | qubits | gates | passes | qpipe | qpipe, scalar kernels | one pass per gate | quantum-circuit | qsharp-lang | Aer (fusion) | Aer (no fusion) | effective bandwidth |\n|---|---|---|---|---|---|---|---|---|---|---|---|',
);
for (const row of sim.rows) {
  console.log(
    `| ${row.circuit} | ${row.qubits} | ${row.gates} | ${row.passes} | ${ms(row.qpipeMs)} | ` +
      `${ms(row.scalarMs)}${ratio(row.scalarMs, row.qpipeMs)} | ` +
      `${row.baselineMs === undefined ? '' : ms(row.baselineMs) + ratio(row.baselineMs, row.qpipeMs)} | ` +
      `${ms(row.quantumCircuitMs)}${ratio(row.quantumCircuitMs, row.qpipeMs)} | ${ms(row.qsharpMs)}${ratio(row.qsharpMs, row.qpipeMs)} | ` +
      `${row.aerMs === undefined ? 'no Aer' : ms(row.aerMs) + ratio(row.aerMs, row.qpipeMs)} | ` +
      `${row.aerNoFusionMs === undefined ? '' : ms(row.aerNoFusionMs) + ratio(row.aerNoFusionMs, row.qpipeMs)} | ` +
      `${gbps(row.effectiveBandwidth)} (${((100 * row.effectiveBandwidth) / sim.bandwidth).toFixed(0)} %) |`,
  );
}
console.log(
  `\nAer: import of qiskit and qiskit_aer ${ms(sim.aerImportMs)} (not in the figures above); ratios are the peer's time over qpipe's (above 1: qpipe faster)`,
);
console.log(
  `whole 12-qubit, 1024-shot job with start-up (best of 3): qpipe simulate ${ms(sim.smallJob.qpipeMs)}, python + Aer ${ms(sim.smallJob.aerMs)}`,
);
console.log(
  `\n1024-shot sampling of the 16-qubit QFT state: qpipe ${ms(sim.sampling.qpipeMs)}, quantum-circuit ${ms(sim.sampling.quantumCircuitMs)}`,
);
console.log(
  `GHZ on 28 qubits with 1024 shots: ${ms(sim.big28.ms)}, resident memory ${(sim.big28.rssBytes / 2 ** 30).toFixed(1)} GiB`,
);
writeFileSync(join(work, 'results.json'), JSON.stringify({ validate: rows, simulator: sim }, null, 2));

/**
 * Benchmarks (`npm run bench`). Each figure is measured side by side in one run and
 * reported as a ratio. The JavaScript peers live in test/bench/peers, a separate package
 * this script installs, so they never enter qpipe's own dependency tree.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { validateBench } from './validate.ts';

const peers = new URL('./peers/', import.meta.url).pathname;
if (!existsSync(join(peers, 'node_modules'))) {
  console.log('installing benchmark peers in test/bench/peers …');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: peers, stdio: 'inherit' });
}
// The CLI is measured as users run it: compiled.
spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

const work = mkdtempSync(join(tmpdir(), 'qpipe-bench-'));
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
);
const rows = await validateBench({ work, peers });
console.log('\n| benchmark | qpipe | quantum-circuit | ratio |\n|---|---|---|---|');
for (const row of rows)
  console.log(
    `| ${row.name} | ${row.qpipe.toFixed(0)} ms | ${row.peer.toFixed(0)} ms | ${(row.peer / row.qpipe).toFixed(1)}x |`,
  );
writeFileSync(join(work, 'results.json'), JSON.stringify(rows, null, 2));

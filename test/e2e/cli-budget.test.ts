import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { qpipe } from '../support/cli.ts';

describe('budgets from the command line (end to end, child process)', () => {
  it('runs the budget demo: three approvals, one job held then rejected, the alerts in the outbox', async () => {
    const result = await qpipe(['run', 'examples/budget-demo.yaml']);
    expect(result.code).toBe(1);
    expect(result.stdout.match(/ {2}Succeeded\n/g)).toHaveLength(3);
    expect(result.stdout).toMatch(
      /Rejected\n[^]*enforce-budget: budget budget-demo\/demo \(\d{4}-\d{2}\) cannot cover this job: estimated \$1\.50, spent \$4\.50, reserved \$0\.00, limit \$5\.00, available \$0\.50; waited 3s \(gracePeriod 3s\)/,
    );
    expect(result.stdout).toMatch(
      /budget budget-demo\/demo {2}Active {2}spent \$4\.50 of \$5\.00 \(monthly\), reserved \$0\.00, remaining \$0\.50 {2}alerts sent at 50%, 75%, 90%/,
    );
    const files = [...result.stdout.matchAll(/^ {2}(\S+\.eml)$/gm)].map((m) => m[1] as string);
    expect(files).toHaveLength(3);
    const subjects = await Promise.all(files.map(async (f) => (await simpleParser(await readFile(f))).subject));
    expect(subjects.sort()).toEqual([
      'Budget budget-demo/demo at 50%: $3.00 of $5.00',
      'Budget budget-demo/demo at 90% (crossed 75% and 90%): $4.50 of $5.00',
      expect.stringMatching(
        /^Budget budget-demo\/demo exceeded: job budget-demo\/demo-[a-z-]+ blocked \(\$1\.50 requested, limit \$5\.00\)$/,
      ),
    ]);
  });

  it('keeps one local store for run, apply, get, estimate and reset: the demo twice, then again after reset', async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-one-store-'));
    const env = { QPIPE_STORE: store };
    const first = await qpipe(['run', 'examples/budget-demo.yaml'], env);
    expect(first.stdout.match(/ {2}Succeeded\n/g)).toHaveLength(3);
    expect(first.stdout).toMatch(/qpipe reset starts over/);
    // The budget the run applied is in the store (once "no budgets found").
    const budgets = await qpipe(['get', 'budgets', '-A'], env);
    expect(budgets.stdout).toMatch(/budget-demo +demo +\$4\.50 +\$5\.00 +monthly/);
    // Spending is kept: a second run finds the budget spent, and prints no mail of the first run.
    const second = await qpipe(['run', 'examples/budget-demo.yaml'], env);
    expect(second.stdout).not.toMatch(/Succeeded/);
    expect(second.stdout).not.toMatch(/\.eml/);
    // A job writing to its own output.path too: reset leaves nothing of qpipe's behind.
    const own = join(store, '..', `${store.split('/').pop()}-job.yaml`);
    await writeFile(
      own,
      'apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: own-path}\n' +
        'spec: {output: {type: local, path: mine}, circuit: {source: inline, code: "OPENQASM 3; qubit q; bit c; h q; c = measure q;"}}\n',
    );
    expect((await qpipe(['run', own], env)).code).toBe(0);
    expect((await qpipe(['reset'], env)).stdout).toMatch(/^reset .*: removed .*ledgers.*outputs/);
    expect(existsSync(store), 'the store folder, emptied of qpipe folders, is removed').toBe(false);
    const again = await qpipe(['run', 'examples/budget-demo.yaml'], env);
    expect(again.stdout.match(/ {2}Succeeded\n/g)).toHaveLength(3);
    expect(again.stdout.match(/\.eml$/gm)).toHaveLength(3);
  }, 60_000);

  it('runs and estimates a job pinned to a backend applied on its own (once rejected as unknown)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-applied-'));
    const env = { QPIPE_STORE: join(dir, 'store') };
    await writeFile(
      join(dir, 'backend.yaml'),
      'apiVersion: quantum.io/v1\nkind: QiskitBackend\nmetadata: {name: team-simulator}\n' +
        'spec: {provider: local_simulator, pricing: {perTask: "$0.00"}}\n',
    );
    await writeFile(
      join(dir, 'job.yaml'),
      'apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: pinned}\n' +
        'spec: {backend: {name: team-simulator}, circuit: {source: inline, code: "OPENQASM 3; qubit q; bit c; h q; c = measure q;"}}\n',
    );
    expect((await qpipe(['apply', '-f', join(dir, 'backend.yaml')], env)).code).toBe(0);
    const estimate = await qpipe(['estimate', join(dir, 'job.yaml'), '--output', 'json'], env);
    expect((JSON.parse(estimate.stdout) as { selected: string }[])[0]?.selected).toBe('team-simulator');
    const run = await qpipe(['run', join(dir, 'job.yaml')], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/default\/pinned {2}Succeeded\n {2}backend +team-simulator/);
  });

  it('estimates every candidate backend of a job with its cost breakdown', async () => {
    const result = await qpipe(['estimate', 'examples/bell.yaml', '--output', 'json']);
    expect(result.code).toBe(0);
    const [job] = JSON.parse(result.stdout) as {
      job: string;
      selected: string;
      candidates: {
        backend: string;
        estimatedCost: string;
        eligible: boolean;
        breakdown: { item: string; micros: number }[];
      }[];
    }[];
    expect(job?.selected).toBe('local-simulator');
    const forte = job?.candidates.find((c) => c.backend === 'ionq-forte');
    // $0.30 per task + 1024 shots at $0.08.
    expect(forte?.estimatedCost).toBe('$82.22');
    // Each item names its quantity and unit price (once a total labelled as a price).
    expect(forte?.breakdown).toEqual([
      { item: 'per-task fee', micros: 300_000 },
      { item: '1024 shots × $0.08', micros: 81_920_000 },
    ]);
    expect(job?.candidates.find((c) => c.backend === 'braket-sv1')?.breakdown[0]?.item).toBe('3.0 s × $0.075/min');
  });

  it('decides as run does: a provider this deployment lacks is excluded and the simulator fallback selected, costs to four decimals', async () => {
    const file = 'examples/several-jobs.yaml';
    const result = await qpipe(['estimate', file]);
    expect(result.code).toBe(0);
    // Once braket-sv1 "selected" where run used the simulator, which it also listed as excluded.
    expect(result.stdout).toMatch(/research\/bell-on-braket-or-simulator {2}1024 shots {2}→ {2}local-simulator\n/);
    expect(result.stdout).toMatch(
      /local-simulator +\$0\.0000 +0\.000 {2}selected as the fallback \(spec\.backendSelection\.fallbackToSimulator\)/,
    );
    expect(result.stdout).toMatch(
      /braket-sv1 +\$0\.0038 +0\.000 {2}excluded: aws_braket is not configured in this deployment/,
    );
    const run = await qpipe(['run', file, '--output', 'json']);
    const bell = (JSON.parse(run.stdout) as { name: string; backend: string }[]).find(
      (j) => j.name === 'bell-on-braket-or-simulator',
    );
    expect(bell?.backend).toBe('local-simulator');
    // With Braket configured, the estimate picks a Braket device.
    const braket = await qpipe(['estimate', file], { QPIPE_BRAKET: 'true', QPIPE_BRAKET_OUTPUT_BUCKET: 'results' });
    expect(braket.stdout).toMatch(/research\/bell-on-braket-or-simulator {2}1024 shots {2}→ {2}braket-(sv1|dm1)\n/);
  });
});

/** The store through kubectl's habits (child processes): kinds by any of their names, -n/-A, -o, get NAME, describe, delete. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { qpipe } from '../support/cli.ts';

describe('qpipe get, describe and delete as kubectl users expect them (end to end, child process)', () => {
  let env: Record<string, string>;

  beforeAll(async () => {
    env = { QPIPE_STORE: await mkdtemp(join(tmpdir(), 'qpipe-kubectl-')) };
    await qpipe(['run', 'examples/budget-demo.yaml'], env);
  }, 60_000);

  it("lists the default namespace unless -n or -A, with kubectl's columns", async () => {
    const none = await qpipe(['get', 'budgets'], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe('No budgets found in default namespace.\n');
    const all = await qpipe(['get', 'qbud', '-A'], env);
    expect(all.stdout).toMatch(
      /^NAMESPACE {5}NAME {3}SPENT {3}LIMIT {3}PERIOD\nbudget-demo {3}demo {3}\$4\.50 {3}\$5\.00 {3}monthly\n$/,
    );
    const one = await qpipe(['get', 'qiskitbudgets', '--namespace', 'budget-demo'], env);
    expect(one.stdout).toMatch(/^NAME {3}SPENT/);
    const wide = await qpipe(['get', 'qj', '-A', '-o', 'wide'], env);
    expect(wide.stdout.split('\n')[0]).toMatch(/^NAMESPACE +NAME +PHASE +BACKEND +COST +ESTIMATED +MESSAGE$/);
    expect(wide.stdout.trim().split('\n')).toHaveLength(5);
  });

  it('shows one object by name, as json, yaml or its name, and says when it is not there (exit 1)', async () => {
    const json = await qpipe(['get', 'qiskitbudget', 'demo', '-n', 'budget-demo', '-o', 'json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({
      apiVersion: 'quantum.io/v1',
      kind: 'QiskitBudget',
      metadata: { namespace: 'budget-demo', name: 'demo' },
      spec: { limit: '$5.00' },
      status: { spent: '$4.50' },
    });
    const yaml = await qpipe(['get', 'budget', 'demo', '-n', 'budget-demo', '-o', 'yaml'], env);
    expect(yaml.stdout).toMatch(/^apiVersion: quantum\.io\/v1\nkind: QiskitBudget\n/);
    const list = await qpipe(['get', 'jobs', '-n', 'budget-demo', '-o', 'json'], env);
    expect(JSON.parse(list.stdout)).toMatchObject({ apiVersion: 'v1', kind: 'List' });
    const names = await qpipe(['get', 'qj', '-n', 'budget-demo', '-o', 'name'], env);
    expect(names.stdout.trim().split('\n')).toEqual(
      ['demo-bell', 'demo-coin', 'demo-ghz', 'demo-one-too-many'].map((n) => `qiskitjob.quantum.io/${n}`),
    );
    const missing = await qpipe(['get', 'budget', 'nope', '-n', 'budget-demo'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/budget "nope" not found in budget-demo namespace/);
    expect((await qpipe(['get', 'widgets'], env)).code).toBe(2);
    expect((await qpipe(['get', 'qbud', '-A', '-n', 'x'], env)).code).toBe(2);
  });

  it("describes a job: spec-less status, conditions and its audit record's decisions", async () => {
    // The demo rejects whichever job reserves last: describe one that ran.
    const jobs = JSON.parse((await qpipe(['get', 'qj', '-n', 'budget-demo', '-o', 'json'], env)).stdout) as {
      items: { metadata: { name: string }; status: { phase: string } }[];
    };
    const ran = jobs.items.find((j) => j.status.phase === 'Succeeded')?.metadata.name ?? '';
    const described = await qpipe(['describe', 'qj', ran, '-n', 'budget-demo'], env);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(new RegExp(`^Name: {9}${ran}\nNamespace: {4}budget-demo\nKind: {9}QiskitJob\n`));
    expect(described.stdout).toMatch(/\nStatus:\n {2}/);
    expect(described.stdout).toMatch(/\nConditions:\n {2}TYPE +STATUS +REASON +MESSAGE\n/);
    expect(described.stdout).toMatch(/\nEvents:\n {2}AT +BY +WHAT\n/);
    expect(described.stdout).toMatch(/enforce-budget +approved: \$1\.50 reserved in budget budget-demo\/demo/);
  });

  it('deletes what it names, as kubectl says it, and exit 1 for what is not there', async () => {
    const deleted = await qpipe(['delete', 'qbe', 'metered-simulator'], env);
    expect(deleted.stdout).toBe('qiskitbackend.quantum.io "metered-simulator" deleted\n');
    expect((await qpipe(['get', 'backends', 'metered-simulator'], env)).code).toBe(1);
    const job = await qpipe(['delete', 'qiskitjob', 'demo-coin', 'ghost', '-n', 'budget-demo'], env);
    expect(job.code).toBe(1);
    expect(job.stdout).toBe('qiskitjob.quantum.io "demo-coin" deleted\n');
    expect(job.stderr).toMatch(/job "ghost" not found in budget-demo namespace/);
    // A job still running keeps its status: deleting it would stop nothing and free no money.
    const running = join(env['QPIPE_STORE'] as string, 'status/qiskitjobs/budget-demo/busy.json');
    await writeFile(
      running,
      JSON.stringify({ uid: 'u-busy', namespace: 'budget-demo', name: 'busy', status: { phase: 'Running' } }),
    );
    const refused = await qpipe(['delete', 'qj', 'busy', '-n', 'budget-demo'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/budget-demo\/busy: is Running: cancel it first \(qpipe cancel busy -n budget-demo/);
    expect((await qpipe(['get', 'qj', 'busy', '-n', 'budget-demo'], env)).stdout).toMatch(/busy +Running/);
  });
});

/** Every job leaves an audit record that `qpipe audit` reads (built CLI, child processes, real store folder). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qpipe } from '../support/cli.ts';
import { PRICED_RESOURCES_YAML } from '../support/manifests.ts';

const FILES = `${PRICED_RESOURCES_YAML}---
apiVersion: quantum.io/v1
kind: QiskitJob
metadata: { name: audited, namespace: default }
spec:
  backend: { name: priced }
  execution: { shots: 100 }
  circuit: { source: inline, code: "OPENQASM 3.0; include \\"stdgates.inc\\"; qubit[2] q; bit[2] c; h q[0]; cx q[0], q[1]; c = measure q;" }
`;

describe('the audit trail of a job (child processes, real store folder)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qpipe-audit-'));
    await writeFile(join(dir, 'jobs.yaml'), FILES);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('records who asked, each decision with its amounts and the final phase, once per run', async () => {
    const env = { QPIPE_STORE: join(dir, 'store') };
    for (let run = 0; run < 2; run++) {
      expect((await qpipe(['run', join(dir, 'jobs.yaml')], env)).code).toBe(run === 0 ? 0 : 1);
    }
    const audit = await qpipe(['audit', 'audited', '--output', 'json'], env);
    expect(audit.code).toBe(0);
    const records = JSON.parse(audit.stdout) as { job: { uid: string }; entries: { by: string; detail: string }[] }[];
    expect(records).toHaveLength(2);
    expect(new Set(records.map((r) => r.job.uid)).size).toBe(2);
    const [first, second] = records.map((r) => r.entries.map((e) => `${e.by}: ${e.detail}`));
    expect(first).toEqual([
      expect.stringMatching(
        /^validate: valid: 2 qubits, 2 gates, circuit sha256:[0-9a-f]{64}; requested by a request from \/qpipe\/cli$/,
      ),
      'select-backend: scheduled on priced (local_simulator), estimated $1.00',
      expect.stringMatching(/^enforce-budget: approved: \$1\.00 reserved in budget default\/team \(\d{4}-\d{2}\)$/),
      'execute: ran on priced, costing $1.00',
      'collect-results: Succeeded on priced, charged $1.00 to default/team',
    ]);
    // The second run does not fit what is left of the budget: the record says so, with the amounts.
    expect(second!.at(-1)).toMatch(
      /^enforce-budget: Rejected at enforce-budget: budget default\/team .* spent \$1\.00/,
    );
    const text = await qpipe(['audit', 'audited'], env);
    expect(text.stdout).toMatch(/^default\/audited {2}uid \S+ {2}generation 1$/m);
  });

  it('records each change `qpipe apply` makes to a budget, by the local user, and nothing for an unchanged one', async () => {
    const env = { QPIPE_STORE: join(dir, 'applied') };
    const budget = (limit: string) =>
      `apiVersion: quantum.io/v1\nkind: QiskitBudget\nmetadata: {name: monthly, namespace: team}\nspec: {limit: "${limit}", period: monthly}\n`;
    for (const limit of ['$10.00', '$10.00', '$25.00']) {
      await writeFile(join(dir, 'budget.yaml'), budget(limit));
      expect((await qpipe(['apply', '-f', join(dir, 'budget.yaml')], env)).code).toBe(0);
    }
    const audit = await qpipe(['audit', 'budget/monthly', '--namespace', 'team', '--output', 'json'], env);
    expect(audit.code).toBe(0);
    const changes = JSON.parse(audit.stdout) as { change: string; by: string; spec: { limit: string } }[];
    expect(changes.map((c) => [c.change, c.spec.limit])).toEqual([
      ['created', '$10.00'],
      ['changed', '$25.00'],
    ]);
    expect(changes[0]?.by).toBe(`${userInfo().username}@${hostname()} (qpipe apply)`);
    const missing = await qpipe(['audit', 'backend/none', '--namespace', 'team'], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/team\/none.*no recorded change of such a QiskitBackend/);
  });
});

/**
 * The restore drill README's backup section promises, on a real kube-apiserver with qpipe's CRDs
 * and the CLI as an operator runs it (child processes): back up the cluster's quantum resources
 * and the store's ledgers, wipe both, restore, and find the budgets and jobs back (each restored
 * job marked so that it does not run and charge again) and the ledgers exactly as they were.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESTORED_ANNOTATION } from '../../shared/backup/restored.ts';
import { EMPTY_LEDGER } from '../../shared/budget/ledger.ts';
import { ledgerKey, updateLedger } from '../../shared/budget/ledger-store.ts';
import { ObjectLedgerStore } from '../../shared/budget/object-ledger-store.ts';
import { LocalObjectStore } from '../../shared/storage/local-object-store.ts';
import { qpipe } from '../support/cli.ts';
import {
  type KubeApiServer,
  kubeApiServerMissing,
  startKubeApiServer,
  waitUntilListed,
} from '../support/kube-apiserver.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);
const missing = kubeApiServerMissing();

describe.skipIf(missing !== undefined)(
  `restore drill: back up, wipe, restore (real kube-apiserver, qpipe CLI)${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let api: KubeApiServer;
    let kubeconfig: string;
    const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', kubeconfig, ...args])).stdout;

    beforeAll(async () => {
      api = await startKubeApiServer();
      kubeconfig = await api.kubeconfig();
      await kubectl('apply', '-k', join(ROOT, 'infra/crds'));
      await kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s');
      await waitUntilListed(kubeconfig, 'qiskitjobs,qiskitbudgets,qiskitbackends,qiskitsessions');
    }, 120_000);
    afterAll(async () => api.stop());

    it('brings back budgets, jobs (marked restored) and ledgers after both were wiped', async () => {
      const root = await mkdtemp(join(tmpdir(), 'qpipe-drill-'));
      await kubectl('apply', '-f', join(ROOT, 'examples/bell.yaml'));
      const budget = join(root, 'budget.yaml');
      await writeFile(
        budget,
        'apiVersion: quantum.io/v1\nkind: QiskitBudget\nmetadata: {name: lab, namespace: default}\nspec: {limit: "$50.00", period: monthly}\n',
      );
      await kubectl('apply', '-f', budget);
      // The budget's ledger, as enforce-budget keeps it in the store: $12.50 spent this period.
      const store = join(root, 'store');
      const key = ledgerKey({ namespace: 'default', name: 'lab', period: '2026-12' });
      await updateLedger(new ObjectLedgerStore(new LocalObjectStore(store)), key, () => ({
        state: { ...EMPTY_LEDGER, spentMicros: 12_500_000 },
        result: undefined,
      }));
      const env = { KUBECONFIG: kubeconfig, QPIPE_CLUSTER: 'kubernetes', QPIPE_STORE: store, LOG_LEVEL: 'silent' };

      const backup = join(root, 'backup');
      const saved = await qpipe(['backup', '--to', backup], env);
      expect(saved.code, saved.stderr).toBe(0);
      expect(saved.stdout).toMatch(
        /backed up 1 QiskitJob, 1 QiskitBudget, 0 QiskitBackend, 0 QiskitSession and 1 ledgers/,
      );

      // The disaster: the resources and the store are gone.
      await kubectl('delete', 'qiskitjobs,qiskitbudgets', '--all', '-A', '--wait=true');
      await rm(store, { recursive: true, force: true });
      expect((await kubectl('get', 'qiskitjobs,qiskitbudgets', '-A', '-o', 'name')).trim()).toBe('');

      const restored = await qpipe(['restore', '--from', backup, '--output', 'json'], env);
      expect(restored.code, restored.stderr).toBe(0);
      expect(JSON.parse(restored.stdout)).toMatchObject({ created: 2, ledgers: 1 });
      const job = JSON.parse(await kubectl('get', 'qiskitjob', 'bell', '-n', 'default', '-o', 'json')) as {
        metadata: { annotations?: Record<string, string> };
        spec: { execution: { shots: number } };
      };
      // Marked: the pipeline does not run (and charge) a restored job again.
      expect(job.metadata.annotations?.[RESTORED_ANNOTATION]).toBeDefined();
      expect(job.spec.execution.shots).toBe(1024);
      expect(
        (await kubectl('get', 'qiskitbudget', 'lab', '-n', 'default', '-o', 'jsonpath={.spec.limit}')).trim(),
      ).toBe('$50.00');
      const ledger = await new ObjectLedgerStore(new LocalObjectStore(store)).read(key);
      expect(ledger.state.spentMicros).toBe(12_500_000);
    }, 120_000);
  },
);

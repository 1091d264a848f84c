/**
 * Tenancy on a real kube-apiserver (etcd, RBAC authorizer): the shipped tenant roles, each
 * bound in a namespace and asked with `kubectl auth can-i --as`; a tenant's QiskitBackend that
 * would re-price a QPU, read through the Kubernetes adapter as the stages read it; and what
 * the cluster confirms of a job an API-server event names. What stands in: nothing runs the cluster-role
 * aggregation controller (it lives in kube-controller-manager), so the aggregation to view, edit
 * and admin is checked by its labels, not by asking `edit`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { catalogFor } from '../../shared/backends/visibility.ts';
import { KubernetesCluster } from '../../shared/cluster/kubernetes-cluster.ts';
import { confirmedByCluster } from '../../shared/cluster/platform-events.ts';
import { loadConfig } from '../../shared/config.ts';
import { parseEvent } from '../../events/envelope.ts';
import { recordResourceEvent } from '../../functions/collect-results/resource-changes.ts';
import { readResourceChanges } from '../../shared/resource-audit.ts';
import { apiServerSourceEvent } from '../support/apiserver-source.ts';
import { MemoryObjectStore } from '../support/memory-ports.ts';
import { type KubeApiServer, kubeApiServerMissing, startKubeApiServer } from '../support/kube-apiserver.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);
const missing = kubeApiServerMissing();

describe.skipIf(missing !== undefined)(
  `tenant roles on a real kube-apiserver${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let api: KubeApiServer;
    let admin: string;
    const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', admin, ...args])).stdout;

    /** Whether `user` may do it, as the API server's RBAC authorizer answers. */
    const canI = async (user: string, verb: string, resource: string, namespace = 'team') => {
      const [kind, subresource] = resource.split('/');
      const args = ['auth', 'can-i', verb, `${kind}.quantum.io`, '-n', namespace, '--as', user];
      try {
        await kubectl(...args, ...(subresource ? ['--subresource', subresource] : []));
        return true;
      } catch {
        return false;
      }
    };

    beforeAll(async () => {
      api = await startKubeApiServer();
      admin = await api.kubeconfig();
      for (const namespace of ['qpipe', 'team', 'other']) await kubectl('create', 'namespace', namespace);
      const rendered = (await run('kubectl', ['kustomize', join(ROOT, 'infra/rbac')])).stdout;
      const dir = await mkdtemp(join(tmpdir(), 'qpipe-roles-'));
      await writeFile(join(dir, 'rbac.yaml'), rendered);
      await kubectl('apply', '-k', join(ROOT, 'infra/crds'));
      await kubectl('apply', '-f', join(dir, 'rbac.yaml'));
      for (const [user, role] of [
        ['alice', 'qpipe-job-editor'],
        ['bob', 'qpipe-viewer'],
        ['carol', 'qpipe-budget-admin'],
      ] as const) {
        await kubectl(
          'create',
          'rolebinding',
          `${user}-${role}`,
          '-n',
          'team',
          `--clusterrole=${role}`,
          `--user=${user}`,
        );
      }
    }, 120_000);

    afterAll(async () => api.stop());

    it('lets a job editor submit and delete jobs and sessions, but not touch budgets, backends or status', async () => {
      for (const verb of ['create', 'update', 'delete', 'get', 'list', 'watch']) {
        expect(await canI('alice', verb, 'qiskitjobs'), verb).toBe(true);
        expect(await canI('alice', verb, 'qiskitsessions'), verb).toBe(true);
      }
      for (const verb of ['create', 'update', 'patch', 'delete']) {
        expect(await canI('alice', verb, 'qiskitbudgets'), verb).toBe(false);
        expect(await canI('alice', verb, 'qiskitbackends'), verb).toBe(false);
      }
      expect(await canI('alice', 'get', 'qiskitbudgets')).toBe(true);
      expect(await canI('alice', 'patch', 'qiskitjobs/status')).toBe(false);
      expect(await canI('alice', 'create', 'qiskitjobs', 'other')).toBe(false);
    });

    it('lets a viewer read everything and change nothing', async () => {
      for (const kind of ['qiskitjobs', 'qiskitsessions', 'qiskitbudgets', 'qiskitbackends']) {
        expect(await canI('bob', 'list', kind), kind).toBe(true);
        for (const verb of ['create', 'update', 'delete'])
          expect(await canI('bob', verb, kind), `${verb} ${kind}`).toBe(false);
      }
      expect(await canI('bob', 'get', 'qiskitjobs/status')).toBe(true);
    });

    it("lets a budget admin change the namespace's budgets and backends, but not submit jobs or write spending", async () => {
      for (const verb of ['create', 'update', 'patch', 'delete']) {
        expect(await canI('carol', verb, 'qiskitbudgets'), verb).toBe(true);
        expect(await canI('carol', verb, 'qiskitbackends'), verb).toBe(true);
      }
      expect(await canI('carol', 'create', 'qiskitjobs')).toBe(false);
      expect(await canI('carol', 'patch', 'qiskitbudgets/status')).toBe(false);
      expect(await canI('carol', 'create', 'qiskitbudgets', 'other')).toBe(false);
    });

    /** The Kubernetes adapter as a stage builds it, acting as the cluster administrator. */
    async function adapter(): Promise<KubernetesCluster> {
      const { CoreV1Api, CustomObjectsApi, KubeConfig } = await import('@kubernetes/client-node');
      const kc = new KubeConfig();
      kc.loadFromFile(admin);
      return new KubernetesCluster({ custom: kc.makeApiClient(CustomObjectsApi), core: kc.makeApiClient(CoreV1Api) });
    }

    it("refuses a tenant's QiskitBackend that prices a catalog QPU at $0, as the stages read it from the API server", async () => {
      const dir = await mkdtemp(join(tmpdir(), 'qpipe-pricing-'));
      const backend = (namespace: string, pricing: string) =>
        `apiVersion: quantum.io/v1\nkind: QiskitBackend\nmetadata: {name: ionq-forte, namespace: ${namespace}}\nspec: {provider: aws_braket, pricing: {perTask: "$0.30", perShot: "${pricing}"}}\n`;
      await writeFile(join(dir, 'backends.yaml'), `${backend('qpipe', '$0.09')}---\n${backend('team', '$0.00')}`);
      await kubectl('apply', '-f', join(dir, 'backends.yaml'));
      const config = { ...loadConfig({ QPIPE_SIMULATOR_MAX_MEMORY: '1GiB' }), namespace: 'qpipe' };
      const forte = (await catalogFor('team', { cluster: await adapter(), config })).find(
        (b) => b.name === 'ionq-forte',
      );
      expect(forte).toMatchObject({ type: 'aws_braket', pricing: { perShotMicros: 90_000, perTaskMicros: 300_000 } });
    });

    it('confirms a job an API-server event names only while the API server holds it with that uid', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'qpipe-claims-'));
      await writeFile(
        join(dir, 'job.yaml'),
        'apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: held, namespace: team}\nspec: {circuit: {source: inline, code: "OPENQASM 3.0; qubit q; h q;"}}\n',
      );
      await kubectl('apply', '-f', join(dir, 'job.yaml'));
      const uid = (await kubectl('get', 'qiskitjob', 'held', '-n', 'team', '-o', 'jsonpath={.metadata.uid}')).trim();
      const cluster = await adapter();
      const claim = (change: 'present' | 'deleted', claimed = uid) =>
        confirmedByCluster({ kind: 'QiskitJob', namespace: 'team', name: 'held', uid: claimed, change }, { cluster });
      expect(await claim('present')).toBe(true);
      expect(await claim('present', 'forged-uid')).toBe(false);
      // A forged delete of a job that is still there frees nothing.
      expect(await claim('deleted')).toBe(false);
      await kubectl('delete', 'qiskitjob', 'held', '-n', 'team');
      expect(await claim('deleted')).toBe(true);
    });

    it('stamps who asked on each job, budget and backend at admission, and the audit trail records budget changes by that user', async () => {
      await kubectl('apply', '-k', join(ROOT, 'infra/admission'));
      await kubectl(
        'create',
        'rolebinding',
        'dave-budget-admin',
        '-n',
        'team',
        '--clusterrole=qpipe-budget-admin',
        '--user=dave',
      );
      const dir = await mkdtemp(join(tmpdir(), 'qpipe-stamp-'));
      const as = (user: string, ...args: string[]) => kubectl('--as', user, ...args);
      const stamp = async (kind: string, name: string) =>
        (
          await kubectl(
            'get',
            kind,
            name,
            '-n',
            'team',
            '-o',
            `jsonpath={.metadata.annotations.quantum\\.io/requested-by}`,
          )
        ).trim();
      // The request claims someone else; the API server writes who really asked.
      const job = (shots: number) =>
        `apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: stamped, namespace: team, annotations: {quantum.io/requested-by: mallory}}\nspec: {circuit: {source: inline, code: "OPENQASM 3.0; qubit q; h q;"}, execution: {shots: ${shots}}}\n`;
      await writeFile(join(dir, 'job.yaml'), job(100));
      // The policy takes effect once the API server has loaded it: retried until then.
      for (let tries = 0; ; tries++) {
        await as('alice', 'apply', '-f', join(dir, 'job.yaml'));
        if ((await stamp('qiskitjob', 'stamped')) === 'alice') break;
        if (tries > 50) throw new Error(`not stamped: ${await stamp('qiskitjob', 'stamped')}`);
        await kubectl('delete', 'qiskitjob', 'stamped', '-n', 'team');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      // Changing only annotations keeps the stamp; a forged one is put back.
      await as(
        'alice',
        'annotate',
        'qiskitjob',
        'stamped',
        '-n',
        'team',
        'quantum.io/requested-by=mallory',
        '--overwrite',
      );
      expect(await stamp('qiskitjob', 'stamped')).toBe('alice');

      const budget = (limit: string) =>
        `apiVersion: quantum.io/v1\nkind: QiskitBudget\nmetadata: {name: monthly, namespace: team}\nspec: {limit: "${limit}", period: monthly}\n`;
      await writeFile(join(dir, 'budget.yaml'), budget('$10.00'));
      await as('carol', 'apply', '-f', join(dir, 'budget.yaml'));
      expect(await stamp('qiskitbudget', 'monthly')).toBe('carol');
      await writeFile(
        join(dir, 'backend.yaml'),
        'apiVersion: quantum.io/v1\nkind: QiskitBackend\nmetadata: {name: cheap-sim, namespace: team}\nspec: {provider: local_simulator}\n',
      );
      await as('carol', 'apply', '-f', join(dir, 'backend.yaml'));
      expect(await stamp('qiskitbackend', 'cheap-sim')).toBe('carol');
      const cluster = await adapter();
      const store = new MemoryObjectStore();
      // What the ApiServerSource sends for each change (the whole object), as collect-results takes it.
      const record = async (change: 'add' | 'update') => {
        const object = parse(await kubectl('get', 'qiskitbudget', 'monthly', '-n', 'team', '-o', 'yaml')) as Record<
          string,
          unknown
        >;
        await recordResourceEvent(parseEvent(apiServerSourceEvent(change, object)) as never, {
          cluster,
          store,
          now: () => new Date(),
        });
      };
      await record('add');
      // Raised by another budget admin: a new version, stamped with its author.
      await writeFile(join(dir, 'budget.yaml'), budget('$50.00'));
      await as('dave', 'apply', '-f', join(dir, 'budget.yaml'));
      expect(await stamp('qiskitbudget', 'monthly')).toBe('dave');
      await record('update');
      // A status write (enforce-budget's) is no new version, and leaves the stamp.
      await kubectl(
        'patch',
        'qiskitbudget',
        'monthly',
        '-n',
        'team',
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"spent":"$1.00"}}',
      );
      expect(await stamp('qiskitbudget', 'monthly')).toBe('dave');
      await record('update');
      const changes = await readResourceChanges(store, 'QiskitBudget', 'team', 'monthly');
      expect(changes.map((c) => [c.change, c.by, (c.spec as { limit: string }).limit])).toEqual([
        ['created', 'Kubernetes user carol', '$10.00'],
        ['changed', 'Kubernetes user dave', '$50.00'],
      ]);
    });

    it('aggregates the viewer to view, edit and admin, and the job editor to edit and admin, never the budget admin', async () => {
      const labels = async (role: string) =>
        (
          parse(await kubectl('get', 'clusterrole', role, '-o', 'yaml')) as {
            metadata: { labels?: Record<string, string> };
          }
        ).metadata.labels ?? {};
      const aggregatedTo = async (role: string) =>
        Object.entries(await labels(role))
          .filter(([key, value]) => key.startsWith('rbac.authorization.k8s.io/aggregate-to-') && value === 'true')
          .map(([key]) => key.replace('rbac.authorization.k8s.io/aggregate-to-', ''))
          .sort();
      expect(await aggregatedTo('qpipe-viewer')).toEqual(['admin', 'edit', 'view']);
      expect(await aggregatedTo('qpipe-job-editor')).toEqual(['admin', 'edit']);
      expect(await aggregatedTo('qpipe-budget-admin')).toEqual([]);
    });
  },
);

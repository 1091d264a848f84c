/**
 * The shipped tenant roles on a real kube-apiserver (etcd, RBAC authorizer): each bound in a
 * namespace, asked with `kubectl auth can-i --as`. What stands in: nothing runs the cluster-role
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

/**
 * `qpipe bridge --once` (child process) against a real kube-apiserver (etcd, RBAC: the bridge
 * acts as its own ServiceAccount with infra/aws/bridge's ClusterRole), publishing to a real
 * HTTP receiver standing in for the bus, with the local store standing in for the bucket.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type KubeApiServer,
  kubeApiServerMissing,
  startKubeApiServer,
  waitUntilListed,
} from '../support/kube-apiserver.ts';
import { jobStatusKey } from '../../shared/cluster/local-cluster.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/qpipe.js');
const run = promisify(execFile);
const missing = kubeApiServerMissing();

describe.skipIf(missing !== undefined)(
  `qpipe bridge on a real kube-apiserver${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let api: KubeApiServer;
    let admin: string;
    let receiver: Server;
    let url: string;
    const received: { type: string; body: Record<string, unknown> }[] = [];
    let refuseNext = false;

    const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', admin, ...args])).stdout;

    beforeAll(async () => {
      api = await startKubeApiServer();
      admin = await api.kubeconfig();
      const rendered = (await run('kubectl', ['kustomize', join(ROOT, 'infra/aws/bridge')])).stdout;
      const manifest = join(await mkdtemp(join(tmpdir(), 'qpipe-bridge-')), 'bridge.yaml');
      await writeFile(manifest, rendered);
      await kubectl('apply', '-f', manifest);
      await kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=30s');
      await waitUntilListed(admin, 'qiskitjobs,qiskitbudgets,qiskitbackends');
      receiver = createServer((request, response) => {
        if (refuseNext) {
          // The bus refuses this one (an outage): the bridge must not count the job as requested.
          refuseNext = false;
          request.resume();
          response.writeHead(500).end();
          return;
        }
        let text = '';
        request.on('data', (c: Buffer) => (text += c.toString()));
        request.on('end', () => {
          received.push({
            type: String(request.headers['ce-type']),
            body: JSON.parse(text) as Record<string, unknown>,
          });
          response.writeHead(202).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    }, 120_000);

    afterAll(async () => {
      receiver.close();
      await api.stop();
    });

    it('requests a kubectl-created job once (again after the bus refused it), copies its budget, and writes its status back', async () => {
      const store = await mkdtemp(join(tmpdir(), 'qpipe-bridge-store-'));
      const env = {
        ...process.env,
        KUBECONFIG: await api.kubeconfig('qpipe-bridge'),
        QPIPE_STORE: store,
        LOG_LEVEL: 'silent',
      };
      const pass = async () =>
        JSON.parse((await run(process.execPath, [BIN, 'bridge', '--to', url, '--once'], { env })).stdout) as {
          requested: string[];
          statusWritten: string[];
        };
      await kubectl('label', 'namespace', 'default', 'qpipe.io/jobs=enabled');
      await kubectl('apply', '-f', join(ROOT, 'examples/bell.yaml'));
      const budget = join(store, '..', `budget-${Date.now()}.yaml`);
      await writeFile(
        budget,
        'apiVersion: quantum.io/v1\nkind: QiskitBudget\nmetadata: {name: team, namespace: default}\nspec: {limit: "$10.00", period: monthly}\n',
      );
      await kubectl('apply', '-f', budget);

      expect((await pass()).requested).toEqual(['default/bell']);
      expect(received.map((r) => r.type)).toEqual(['io.quantum.job.requested']);
      const uid = (await kubectl('get', 'qiskitjob', 'bell', '-o', 'jsonpath={.metadata.uid}')).trim();
      expect(received[0]?.body).toMatchObject({ job: { metadata: { name: 'bell', uid } } });
      const stored = JSON.parse(await readFile(join(store, 'resources/qiskitbudgets/default/team.json'), 'utf8'));
      expect(stored.spec.limit).toBe('$10.00');
      // Another pass: nothing new to request.
      expect((await pass()).requested).toEqual([]);

      // collect-results (on Lambda) wrote the job's status to the store; the bridge brings it to Kubernetes.
      await mkdir(join(store, 'status/jobs'), { recursive: true });
      await writeFile(
        join(store, jobStatusKey(uid)),
        JSON.stringify({
          uid,
          namespace: 'default',
          name: 'bell',
          status: {
            phase: 'Succeeded',
            observedGeneration: 1,
            conditions: [
              {
                type: 'Completed',
                status: 'True',
                reason: 'Succeeded',
                message: 'job succeeded',
                lastTransitionTime: '2026-11-30T02:00:00Z',
              },
            ],
          },
        }),
      );
      expect((await pass()).statusWritten).toEqual(['default/bell']);
      await kubectl('wait', '--for=condition=Completed', 'qiskitjob/bell', '--timeout=10s');
      expect((await kubectl('get', 'qiskitjob', 'bell', '-o', 'jsonpath={.status.phase}')).trim()).toBe('Succeeded');
      expect((await pass()).statusWritten).toEqual([]);

      // The bus fails while a new job is published: the pass fails, and the next one requests it.
      await writeFile(
        budget.replace('budget-', 'late-'),
        (await readFile(join(ROOT, 'examples/bell.yaml'), 'utf8')).replace(/name: bell\b/, 'name: late'),
      );
      await kubectl('apply', '-f', budget.replace('budget-', 'late-'));
      refuseNext = true;
      await expect(pass()).rejects.toThrow();
      expect(received.map((r) => r.type)).toEqual(['io.quantum.job.requested']);
      expect((await pass()).requested).toEqual(['default/late']);
      expect(
        received.filter((r) => (r.body['job'] as { metadata: { name: string } }).metadata.name === 'late'),
      ).toHaveLength(1);
    }, 120_000);
  },
);

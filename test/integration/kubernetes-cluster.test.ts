/**
 * The Kubernetes cluster adapter at the HTTP boundary: no kube-apiserver can run on these
 * machines, so KubeConfig points at a local HTTP server that records requests and answers
 * with responses shaped as the Kubernetes API documents them (objects, lists with
 * metadata.resourceVersion, Status objects for errors).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesCluster } from '../../shared/cluster/kubernetes-cluster.ts';
import { kubeConfigFor } from '../support/kube-config.ts';

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

type Route = (request: Recorded) => { status: number; body: unknown } | undefined;

const status = (code: number, reason: string, message: string) => ({
  status: code,
  body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code },
});

function job(resourceVersion: string, jobStatus?: unknown) {
  return {
    apiVersion: 'quantum.io/v1',
    kind: 'QiskitJob',
    metadata: { name: 'bell', namespace: 'lab', uid: 'uid-1', generation: 1, resourceVersion },
    spec: { circuit: { source: 'inline', code: 'OPENQASM 3;' } },
    ...(jobStatus ? { status: jobStatus } : {}),
  };
}

describe('Kubernetes cluster adapter (local HTTP server answering as the Kubernetes API documents)', () => {
  let server: Server;
  let requests: Recorded[];
  let routes: Route[];
  let cluster: KubernetesCluster;

  beforeEach(async () => {
    requests = [];
    routes = [];
    server = createServer((req: IncomingMessage, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const recorded: Recorded = {
          method: req.method ?? '',
          path: req.url ?? '',
          contentType: req.headers['content-type'],
          body: text ? JSON.parse(text) : undefined,
        };
        requests.push(recorded);
        const answer =
          routes.map((route) => route(recorded)).find(Boolean) ?? status(404, 'NotFound', `${recorded.path} not found`);
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kc = kubeConfigFor(server);
    cluster = new KubernetesCluster({
      custom: kc.makeApiClient(CustomObjectsApi),
      core: kc.makeApiClient(CoreV1Api),
      now: () => new Date('2026-11-26T10:00:00Z'),
    });
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('patches only the status subresource, as a merge patch guarded by resourceVersion, and records an Event', async () => {
    routes.push((r) =>
      r.method === 'GET' && r.path === '/apis/quantum.io/v1/namespaces/lab/qiskitjobs/bell'
        ? { status: 200, body: job('41', { phase: 'Validated', message: 'old' }) }
        : undefined,
    );
    routes.push((r) => (r.method === 'PATCH' ? { status: 200, body: job('42') } : undefined));
    routes.push((r) =>
      r.method === 'POST' && r.path === '/api/v1/namespaces/lab/events' ? { status: 201, body: r.body } : undefined,
    );
    const result = await cluster.updateJobStatus(
      { namespace: 'lab', name: 'bell', uid: 'uid-1', generation: 1 },
      () => ({ phase: 'Scheduled', selectedBackend: 'local-simulator' }),
    );
    expect(result).toEqual({ phase: 'Scheduled', selectedBackend: 'local-simulator' });
    const patch = requests.find((r) => r.method === 'PATCH');
    expect(patch).toEqual({
      method: 'PATCH',
      path: '/apis/quantum.io/v1/namespaces/lab/qiskitjobs/bell/status',
      contentType: 'application/merge-patch+json',
      body: {
        metadata: { resourceVersion: '41' },
        status: { phase: 'Scheduled', selectedBackend: 'local-simulator', message: null },
      },
    });
    const event = requests.find((r) => r.path === '/api/v1/namespaces/lab/events')?.body as Record<string, unknown>;
    expect(event).toMatchObject({
      metadata: { name: 'bell.uid-1.1.scheduled', namespace: 'lab' },
      involvedObject: {
        apiVersion: 'quantum.io/v1',
        kind: 'QiskitJob',
        name: 'bell',
        namespace: 'lab',
        uid: 'uid-1',
        resourceVersion: '41',
      },
      reason: 'Scheduled',
      type: 'Normal',
      source: { component: 'qpipe' },
    });
    // Nothing but status and events is ever written.
    expect(requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`)).toEqual([
      'PATCH /apis/quantum.io/v1/namespaces/lab/qiskitjobs/bell/status',
      'POST /api/v1/namespaces/lab/events',
    ]);
  });

  it('recomputes and retries after a 409 Conflict', async () => {
    let reads = 0;
    routes.push((r) =>
      r.method === 'GET'
        ? {
            status: 200,
            body: job(String(40 + ++reads), reads === 1 ? { phase: 'Validated' } : { phase: 'Scheduled' }),
          }
        : undefined,
    );
    let patches = 0;
    routes.push((r) =>
      r.method === 'PATCH'
        ? ++patches === 1
          ? status(
              409,
              'Conflict',
              'Operation cannot be fulfilled on qiskitjobs.quantum.io "bell": the object has been modified; please apply your changes to the latest version and try again',
            )
          : { status: 200, body: job('43') }
        : undefined,
    );
    routes.push((r) => (r.method === 'POST' ? { status: 201, body: r.body } : undefined));
    const seen: (string | undefined)[] = [];
    await cluster.updateJobStatus({ namespace: 'lab', name: 'bell', uid: 'uid-1', generation: 1 }, (current) => {
      seen.push(current?.phase);
      return { ...current, phase: 'Approved' };
    });
    expect(seen).toEqual(['Validated', 'Scheduled']);
    const patchBodies = requests
      .filter((r) => r.method === 'PATCH')
      .map((r) => (r.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
    expect(patchBodies).toEqual(['41', '42']);
  });

  it('leaves a job alone when the object is gone or is a new object with the same name', async () => {
    routes.push((r) =>
      r.method === 'GET'
        ? { status: 200, body: { ...job('7'), metadata: { ...job('7').metadata, uid: 'someone-else' } } }
        : undefined,
    );
    const result = await cluster.updateJobStatus(
      { namespace: 'lab', name: 'bell', uid: 'uid-1', generation: 1 },
      () => ({ phase: 'Failed' }),
    );
    expect(result).toBeUndefined();
    expect(requests.some((r) => r.method === 'PATCH')).toBe(false);
  });

  it('does not patch when the change says nothing changes (a stale event)', async () => {
    routes.push((r) => (r.method === 'GET' ? { status: 200, body: job('9', { phase: 'Succeeded' }) } : undefined));
    await cluster.updateJobStatus({ namespace: 'lab', name: 'bell', uid: 'uid-1', generation: 1 }, () => undefined);
    expect(requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('reads ConfigMap keys, budgets and backends, and patches budget status', async () => {
    routes.push((r) =>
      r.path === '/api/v1/namespaces/lab/configmaps/circuits'
        ? {
            status: 200,
            body: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'circuits', namespace: 'lab', resourceVersion: '5' },
              data: { 'bell.qasm': 'OPENQASM 3;' },
            },
          }
        : undefined,
    );
    routes.push((r) =>
      r.method === 'GET' && r.path === '/apis/quantum.io/v1/namespaces/lab/qiskitbudgets'
        ? {
            status: 200,
            body: {
              apiVersion: 'quantum.io/v1',
              kind: 'QiskitBudgetList',
              metadata: { resourceVersion: '12' },
              items: [
                {
                  apiVersion: 'quantum.io/v1',
                  kind: 'QiskitBudget',
                  metadata: { name: 'monthly', namespace: 'lab' },
                  spec: { limit: '$10.00', period: 'monthly' },
                },
              ],
            },
          }
        : undefined,
    );
    routes.push((r) =>
      r.method === 'GET' && r.path === '/apis/quantum.io/v1/qiskitbackends'
        ? {
            status: 200,
            body: {
              apiVersion: 'quantum.io/v1',
              kind: 'QiskitBackendList',
              metadata: { resourceVersion: '3' },
              items: [],
            },
          }
        : undefined,
    );
    routes.push((r) => (r.method === 'PATCH' ? { status: 200, body: {} } : undefined));
    expect(await cluster.readConfigMapKey('lab', 'circuits', 'bell.qasm')).toBe('OPENQASM 3;');
    expect(await cluster.readConfigMapKey('lab', 'missing', 'x')).toBeUndefined();
    expect((await cluster.listBudgets('lab')).map((b) => b.metadata.name)).toEqual(['monthly']);
    expect(await cluster.listBackends()).toEqual([]);
    await cluster.writeBudgetStatus('lab', 'monthly', { phase: 'Active', spent: '$1.00' });
    expect(requests.at(-1)).toMatchObject({
      method: 'PATCH',
      path: '/apis/quantum.io/v1/namespaces/lab/qiskitbudgets/monthly/status',
      contentType: 'application/merge-patch+json',
      body: { status: { phase: 'Active', spent: '$1.00' } },
    });
  });

  it('reports API server errors as retryable', async () => {
    routes.push(() => status(503, 'ServiceUnavailable', 'etcd is down'));
    await expect(cluster.listBudgets('lab')).rejects.toMatchObject({ retryable: true });
  });
});

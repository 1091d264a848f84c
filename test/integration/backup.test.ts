/**
 * Backup and restore round trips: resources from a Kubernetes API (at the HTTP boundary: a
 * local server keeping objects as the API server does, for the cases a real one makes slow; the
 * drill on a real kube-apiserver is test/e2e/restore-drill.test.ts) and ledgers from the local store, to a folder and to a real S3-compatible server
 * (s3rver), restored into an empty cluster and store.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType } from '../../events/types.ts';
import { manifestOf } from '../../shared/job-validation.ts';
import { createBackup, restoreBackup } from '../../shared/backup/backup.ts';
import { KubernetesResources } from '../../shared/backup/resources.ts';
import { RESTORED_ANNOTATION } from '../../shared/backup/restored.ts';
import { EMPTY_LEDGER, type LedgerState } from '../../shared/budget/ledger.ts';
import { updateLedger } from '../../shared/budget/ledger-store.ts';
import { ObjectLedgerStore } from '../../shared/budget/object-ledger-store.ts';
import { LocalObjectStore } from '../../shared/storage/local-object-store.ts';
import { S3ObjectStore } from '../../shared/storage/s3-object-store.ts';
import { kubeConfigFor } from '../support/kube-config.ts';
import { type S3TestServer, startS3Server } from '../support/s3-server.ts';

type Stored = Record<string, unknown> & { metadata: Record<string, unknown> };

/** A stand-in for the custom-objects part of the Kubernetes API, keeping objects in memory. */
async function fakeApiServer() {
  const objects = new Map<string, Stored>(); // key: plural/namespace/name
  let version = 100;
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const path = (req.url ?? '').split('?')[0] as string;
      const all = /^\/apis\/quantum\.io\/v1\/([a-z]+)$/.exec(path);
      const collection = /^\/apis\/quantum\.io\/v1\/namespaces\/([^/]+)\/([a-z]+)$/.exec(path);
      const one = /^\/apis\/quantum\.io\/v1\/namespaces\/([^/]+)\/([a-z]+)\/([^/]+)$/.exec(path);
      if (req.method === 'GET' && all) {
        const items = [...objects.entries()].filter(([k]) => k.startsWith(`${all[1]}/`)).map(([, v]) => v);
        return send(200, {
          apiVersion: 'quantum.io/v1',
          kind: 'List',
          metadata: { resourceVersion: String(version) },
          items,
        });
      }
      if (req.method === 'POST' && collection) {
        const body = JSON.parse(text) as Stored;
        const key = `${collection[2]}/${collection[1]}/${String(body.metadata['name'])}`;
        if (objects.has(key)) {
          return send(409, {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'AlreadyExists',
            code: 409,
            message: `${key} already exists`,
          });
        }
        const stored = {
          ...body,
          metadata: {
            ...body.metadata,
            namespace: collection[1],
            uid: `new-${version}`,
            resourceVersion: String(++version),
          },
        };
        objects.set(key, stored);
        return send(201, stored);
      }
      if (one) {
        const key = `${one[2]}/${one[1]}/${one[3]}`;
        const current = objects.get(key);
        if (!current)
          return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
        if (req.method === 'GET') return send(200, current);
        if (req.method === 'PUT') {
          const body = JSON.parse(text) as Stored;
          if (body.metadata['resourceVersion'] !== current.metadata['resourceVersion']) {
            return send(409, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Conflict', code: 409 });
          }
          const stored = {
            ...body,
            status: current['status'],
            metadata: { ...body.metadata, uid: current.metadata['uid'], resourceVersion: String(++version) },
          };
          objects.set(key, stored);
          return send(200, stored);
        }
      }
      send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: path });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kc = kubeConfigFor(server);
  return {
    objects,
    resources: new KubernetesResources(kc.makeApiClient(CustomObjectsApi)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const object = (
  plural: string,
  kind: string,
  namespace: string,
  name: string,
  spec: unknown,
  status?: unknown,
): [string, Stored] => [
  `${plural}/${namespace}/${name}`,
  {
    apiVersion: 'quantum.io/v1',
    kind,
    metadata: {
      name,
      namespace,
      uid: `old-${name}`,
      resourceVersion: '7',
      generation: 3,
      creationTimestamp: '2026-11-01T00:00:00Z',
      labels: { team: 'research' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":"json"}', owner: 'alice' },
      managedFields: [{ manager: 'kubectl' }],
    },
    spec,
    ...(status ? { status } : {}),
  },
];

const SOURCE_OBJECTS = [
  object(
    'qiskitjobs',
    'QiskitJob',
    'lab',
    'bell',
    { circuit: { source: 'inline', code: 'OPENQASM 3.0;' } },
    { phase: 'Succeeded', actualCost: '$1.00' },
  ),
  object('qiskitjobs', 'QiskitJob', 'ops', 'ghz', { circuit: { source: 'inline', code: 'OPENQASM 3.0;' } }),
  object(
    'qiskitbudgets',
    'QiskitBudget',
    'lab',
    'monthly',
    { limit: '$100.00', period: 'monthly' },
    { spent: '$1.00' },
  ),
  object('qiskitbackends', 'QiskitBackend', 'default', 'team-sv1', {
    provider: 'aws_braket',
    deviceId: 'arn:aws:braket:::device/quantum-simulator/amazon/sv1',
    enabled: true,
  }),
  object('qiskitsessions', 'QiskitSession', 'lab', 'calibration', {
    backend: { type: 'ibm_quantum', name: 'ibm_brisbane' },
  }),
];

const LEDGERS: Record<string, LedgerState> = {
  'lab/monthly/2026-11': {
    ...EMPTY_LEDGER,
    spentMicros: 1_000_000,
    charges: { 'old-bell/1': { micros: 1_000_000, job: 'lab/bell' } },
    reservations: { 'old-ghz/1': { micros: 250_000, job: 'ops/ghz' } },
    notifiedThresholds: [50],
  },
  'ops/weekly/2026-W48': { ...EMPTY_LEDGER, spentMicros: 42 },
};

describe('qpipe backup and restore', () => {
  let s3: S3TestServer;
  let dir: string;
  beforeAll(async () => {
    s3 = await startS3Server(['backups']);
    dir = await mkdtemp(join(tmpdir(), 'qpipe-backup-'));
  });
  afterAll(async () => {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['a folder', () => new LocalObjectStore(join(dir, 'folder-backup'))],
    ['an S3 prefix on s3rver', () => new S3ObjectStore(s3.client, 'backups', 'nightly/2026-11-26')],
  ])('round-trips resources and ledgers through %s into an empty cluster and store', async (_, target) => {
    const source = await fakeApiServer();
    for (const [key, value] of SOURCE_OBJECTS) source.objects.set(key, value);
    const sourceLedgers = new ObjectLedgerStore(new LocalObjectStore(await mkdtemp(join(dir, 'ledgers-'))));
    for (const [key, state] of Object.entries(LEDGERS))
      await updateLedger(sourceLedgers, key, () => ({ state, result: 0 }));

    const index = await createBackup({
      resources: source.resources,
      ledger: sourceLedgers,
      target: target(),
      now: new Date('2026-11-26T12:00:00Z'),
    });
    expect(index).toMatchObject({
      resources: { QiskitJob: 2, QiskitBudget: 1, QiskitBackend: 1, QiskitSession: 1 },
      ledgers: Object.keys(LEDGERS).sort(),
    });
    await source.close();

    const empty = await fakeApiServer();
    const restoredLedgers = new ObjectLedgerStore(new LocalObjectStore(await mkdtemp(join(dir, 'restored-'))));
    const report = await restoreBackup({ resources: empty.resources, ledger: restoredLedgers, source: target() });
    expect(report).toEqual({ created: 5, replaced: 0, skipped: 0, ledgers: 2 });

    for (const [key, original] of SOURCE_OBJECTS) {
      const restored = empty.objects.get(key);
      expect(restored?.['spec'], key).toEqual(original['spec']);
      expect(restored?.['status'], key).toBeUndefined();
      expect(restored?.metadata['uid'], key).not.toBe(original.metadata['uid']);
      expect(restored?.metadata['labels'], key).toEqual({ team: 'research' });
      const annotations = restored?.metadata['annotations'] as Record<string, string>;
      expect(annotations['owner'], key).toBe('alice');
      expect(annotations['kubectl.kubernetes.io/last-applied-configuration'], key).toBeUndefined();
      expect(annotations[RESTORED_ANNOTATION] !== undefined, key).toBe(original['kind'] === 'QiskitJob');
    }
    for (const [key, state] of Object.entries(LEDGERS)) expect((await restoredLedgers.read(key)).state).toEqual(state);

    // Restoring again replaces rather than fails, and changes nothing.
    expect(await restoreBackup({ resources: empty.resources, ledger: restoredLedgers, source: target() })).toEqual({
      created: 0,
      replaced: 5,
      skipped: 0,
      ledgers: 2,
    });
    await empty.close();
  });

  it('refuses a location that holds no backup, naming it', async () => {
    const nowhere = new LocalObjectStore(join(dir, 'nothing-here'));
    await expect(
      restoreBackup({
        resources: undefined,
        ledger: new ObjectLedgerStore(new LocalObjectStore(dir)),
        source: nowhere,
      }),
    ).rejects.toThrow(/backup\.json: no qpipe backup here/);
  });

  it('does not run a restored job again when Kubernetes announces it', () => {
    const added = (annotations: Record<string, string>) =>
      manifestOf({
        type: EventType.ResourceAdded,
        data: { kind: 'QiskitJob', metadata: { name: 'bell', namespace: 'lab', annotations }, spec: {} },
      } as never);
    expect(added({ [RESTORED_ANNOTATION]: '2026-11-26T12:00:00.000Z' })).toBeUndefined();
    expect(added({})).toBeDefined();
  });
});

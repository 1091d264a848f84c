/**
 * The S3 adapters against a real S3 server: MinIO (its own conditional writes and policies,
 * no stand-in front), including credentials whose policy lacks s3:ListBucket, for which S3
 * answers a missing key with 403.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import { EventType } from '../../events/types.ts';
import { stage as notifyStage } from '../../functions/notify/handler.ts';
import { loadConfig } from '../../shared/config.ts';
import { createDeployedPorts } from '../../shared/runtime/deployed-ports.ts';
import { runStage } from '../../shared/runtime/stage.ts';
import { updateLedger } from '../../shared/budget/ledger-store.ts';
import { ObjectLedgerStore } from '../../shared/budget/object-ledger-store.ts';
import { LocalCluster } from '../../shared/cluster/local-cluster.ts';
import { claimWork, WorkInProgressError } from '../../shared/idempotency/claims.ts';
import { StorageAccessError } from '../../shared/storage/s3-errors.ts';
import { S3ObjectStore } from '../../shared/storage/s3-object-store.ts';
import { type MinioServer, minioMissing, startMinio } from '../support/minio.ts';

const missing = minioMissing();
const BUCKET = 'qpipe';

/** Temporary credentials limited to `actions` on the bucket (MinIO's STS AssumeRole with an inline policy). */
async function restrictedClient(minio: MinioServer, actions: string[]): Promise<S3Client> {
  const sts = new STSClient({
    endpoint: minio.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
  });
  const policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: actions,
        Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
      },
    ],
  };
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({
      RoleArn: 'arn:aws:iam::000000000000:role/qpipe-test',
      RoleSessionName: 'qpipe-test',
      Policy: JSON.stringify(policy),
      DurationSeconds: 900,
    }),
  );
  return new S3Client({
    endpoint: minio.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: {
      accessKeyId: Credentials?.AccessKeyId ?? '',
      secretAccessKey: Credentials?.SecretAccessKey ?? '',
      sessionToken: Credentials?.SessionToken ?? '',
    },
  });
}

describe.skipIf(missing !== undefined)(`S3 adapters on MinIO${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let minio: MinioServer;
  beforeAll(async () => {
    minio = await startMinio([BUCKET]);
  });
  afterAll(async () => minio.close());

  it('lets exactly one of many concurrent claimants in (MinIO honours If-None-Match itself)', async () => {
    const store = new S3ObjectStore(minio.client, BUCKET);
    const attempts = await Promise.allSettled(
      Array.from({ length: 12 }, () => claimWork({ store, work: 'execute/u-1', leaseMs: 60_000 })),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    expect(attempts.every((a) => a.status === 'fulfilled' || a.reason instanceof WorkInProgressError)).toBe(true);
  });

  it('loses no ledger update under concurrent compare-and-swap', async () => {
    const ledger = new ObjectLedgerStore(new S3ObjectStore(minio.client, BUCKET));
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        updateLedger(ledger, 'default/team/2026-11', (state) => ({
          state: { ...state, spentMicros: state.spentMicros + 1, notifiedThresholds: [...state.notifiedThresholds, i] },
          result: undefined,
        })),
      ),
    );
    const { state } = await ledger.read('default/team/2026-11');
    expect(state.spentMicros).toBe(20);
    expect(state.notifiedThresholds).toHaveLength(20);
  });

  it('loses no status update when two containers write the same job at once', async () => {
    // Two processes' worth of status writers over the same bucket, each with its own queue.
    const containers = [0, 1].map(
      () => new LocalCluster({ budgets: [], backends: [], configMaps: [] }, new S3ObjectStore(minio.client, BUCKET)),
    );
    const job = { namespace: 'default', name: 'racy', uid: 'uid-racy', generation: 1 };
    await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        (containers[i % 2] as LocalCluster).updateJobStatus(job, (current) => ({
          ...current,
          message: `${current?.message ?? ''}${i % 2}`,
        })),
      ),
    );
    const status = await (containers[0] as LocalCluster).readJobStatus('default', 'racy');
    expect(status?.message).toHaveLength(16);
    expect(Array.from(status?.message ?? '').filter((c) => c === '1')).toHaveLength(8);
  });

  it('lists keys under a prefix in order, page by page', async () => {
    const store = new S3ObjectStore(minio.client, BUCKET, 'listing');
    await Promise.all(Array.from({ length: 5 }, (_, i) => store.put(`scheduled/00${i}-x.json`, '{}')));
    expect(await store.list('scheduled/')).toEqual([0, 1, 2, 3, 4].map((i) => `scheduled/00${i}-x.json`));
    expect(await store.list('scheduled/', 2)).toHaveLength(2);
  });

  it('reports a read S3 refuses (403) as a permission error naming what to grant, never retried', async () => {
    const store = new S3ObjectStore(minio.client, BUCKET);
    await store.put('runs/present/raw.json', '{}');
    // A role that may write but not read: MinIO answers 403 AccessDenied, as S3 does.
    const writeOnly = new S3ObjectStore(await restrictedClient(minio, ['s3:PutObject']), BUCKET);
    const error = await writeOnly.get('runs/present/raw.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageAccessError);
    expect((error as StorageAccessError).retryable).toBe(false);
    expect((error as Error).message).toMatch(/s3:GetObject on the key and s3:ListBucket/);
    // A role without s3:ListBucket: MinIO still answers 404 for a missing key (Amazon S3
    // answers 403 there, which the error above covers); either way no work is lost.
    const readOnly = new S3ObjectStore(await restrictedClient(minio, ['s3:GetObject', 's3:PutObject']), BUCKET);
    expect(await readOnly.get('runs/missing/raw.json')).toBeUndefined();
    // With read and list, a missing key is simply absent.
    const readList = new S3ObjectStore(
      await restrictedClient(minio, ['s3:GetObject', 's3:PutObject', 's3:ListBucket']),
      BUCKET,
    );
    expect(await readList.get('runs/missing/raw.json')).toBeUndefined();
  });
  it("keeps a deployed stage's outbox in the bucket, never on its pod's own disk", async () => {
    const env = { ...minio.env(BUCKET), QPIPE_STORE: await mkdtemp(join(tmpdir(), 'qpipe-pod-')) };
    // The SDK reads its endpoint and credentials from the process, as in a pod.
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const ports = await createDeployedPorts(loadConfig(env), { budgets: [], backends: [], configMaps: [] });
      await runStage(notifyStage, EXAMPLE_EVENTS[EventType.BudgetThreshold], ports);
    } finally {
      process.env = saved;
    }
    const letters = await new S3ObjectStore(minio.client, BUCKET, '').list('outbox/');
    expect(letters.filter((key) => key.endsWith('.eml'))).toHaveLength(1);
    expect(await readdir(env.QPIPE_STORE, { recursive: true })).not.toContain('outbox');
  });
});

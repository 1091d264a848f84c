/**
 * The scheduled backup function on AWS (shared/runtime/backup-lambda.ts), its handler as the
 * EventBridge schedule invokes it, against a real S3-compatible server (MinIO) standing in for
 * the stack's bucket: resources `qpipe apply` stored and every ledger into dated folders under
 * backups/, the newest N kept, and a restore from one of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EMPTY_LEDGER, type LedgerState } from '../../shared/budget/ledger.ts';
import { updateLedger } from '../../shared/budget/ledger-store.ts';
import { ObjectLedgerStore } from '../../shared/budget/object-ledger-store.ts';
import { restoreFrom } from '../../shared/cli/backup-command.ts';
import { loadConfig } from '../../shared/config.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { loadManifests } from '../../shared/manifests.ts';
import { applyResources } from '../../shared/resources/resource-store.ts';
import { backupSettings, lambdaBackupHandler } from '../../shared/runtime/backup-lambda.ts';
import { getJson, getText } from '../../shared/storage/object-store.ts';
import { S3ObjectStore } from '../../shared/storage/s3-object-store.ts';
import { type MinioServer, minioMissing, startMinio } from '../support/minio.ts';

const missing = minioMissing();
const BUDGET_FILE = new URL('../../examples/budget.yaml', import.meta.url).pathname;

it('refuses settings that would back up nowhere or keep nothing, naming the setting', () => {
  expect(() => backupSettings({ QPIPE_BACKUP_KEEP: '3' })).toThrow(/QPIPE_BACKUP_TO/);
  expect(() => backupSettings({ QPIPE_BACKUP_TO: 's3://b/backups', QPIPE_BACKUP_KEEP: '0' })).toThrow(
    InvalidInputError,
  );
  expect(() => backupSettings({ QPIPE_BACKUP_TO: 's3://b/backups', QPIPE_BACKUP_KEEP: 'many' })).toThrow(
    /QPIPE_BACKUP_KEEP.*"many"/,
  );
});

describe.skipIf(missing !== undefined)(
  `the backup function on a schedule, with MinIO as the bucket${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let minio: MinioServer;
    const saved = { ...process.env };

    beforeAll(async () => {
      minio = await startMinio(['qpipe', 'qpipe-restored']);
      // The function's environment, as serverless.yml sets it (the S3 client reads it when made).
      Object.assign(process.env, minio.env('qpipe'));
    }, 60_000);

    afterAll(async () => {
      process.env = saved;
      await minio.close();
    });

    it('writes each run to a dated folder under backups/, keeps the newest two, and restores a ledger exactly', async () => {
      const config = loadConfig(minio.env('qpipe'));
      const bucket = new S3ObjectStore(minio.client, 'qpipe', '');
      const manifests = await loadManifests([BUDGET_FILE]);
      expect(manifests.budgets.length).toBeGreaterThan(0);
      await applyResources(bucket, manifests, () => 'test');
      const ledger: LedgerState = {
        ...EMPTY_LEDGER,
        spentMicros: 1_250_000,
        charges: { 'bell-uid/1': { micros: 1_250_000, job: 'default/bell' } },
        reservations: { 'ghz-uid/1': { micros: 500_000, job: 'default/ghz' } },
        notifiedThresholds: [50],
      };
      await updateLedger(new ObjectLedgerStore(bucket), 'default/team-a/2026-12', () => ({ state: ledger, result: 0 }));

      const settings = () => ({ config, location: 's3://qpipe/backups', keep: 2 });
      const days = ['2026-12-01T02:15:00Z', '2026-12-02T02:15:00Z', '2026-12-03T02:15:00Z'];
      for (const day of days) await lambdaBackupHandler({ settings, now: () => new Date(day) })({}, {} as never);

      const folders = [...new Set((await bucket.list('backups/')).map((key) => key.split('/')[1]))].sort();
      expect(folders).toEqual(['20261202T021500Z', '20261203T021500Z']);
      const latest = 'backups/20261203T021500Z';
      const index = (await getJson(bucket, `${latest}/backup.json`)) as {
        resources: Record<string, number>;
        ledgers: string[];
      };
      expect(index.resources['QiskitBudget']).toBe(manifests.budgets.length);
      expect(index.ledgers).toEqual(['default/team-a/2026-12']);
      const backedUp = parseAllDocuments((await getText(bucket, `${latest}/resources.yaml`)) ?? '').map(
        (d) => d.toJS() as { kind: string; metadata: { name: string } },
      );
      expect(backedUp.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(
        manifests.budgets.map((b) => `QiskitBudget/${b.metadata.name}`),
      );

      // Restored into another stack's bucket: the ledger as it was.
      const restoredConfig = loadConfig(minio.env('qpipe-restored'));
      await restoreFrom(`s3://qpipe/${latest}`, { config: restoredConfig });
      const restored = await new ObjectLedgerStore(new S3ObjectStore(minio.client, 'qpipe-restored', '')).read(
        'default/team-a/2026-12',
      );
      expect(restored.state).toEqual(ledger);
    }, 60_000);
  },
);

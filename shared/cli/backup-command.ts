/**
 * `qpipe backup --to DIR|s3://bucket/prefix` and `qpipe restore --from ...`: the
 * resources of the configured cluster (Kubernetes, or the manifest files given on the
 * embedded default) and the ledgers of the configured store (local folder or S3).
 */
import { createBackup, type BackupIndex, restoreBackup, type RestoreReport } from '../backup/backup.ts';
import {
  FileResources,
  KubernetesResources,
  type ResourceRepository,
  type ResourceSource,
} from '../backup/resources.ts';
import type { QpipeConfig } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import { loadManifests } from '../manifests.ts';
import { createDeployedPorts } from '../runtime/deployed-ports.ts';
import { LocalObjectStore } from '../storage/local-object-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** The folder or S3 prefix a backup is written to or read from. */
export async function backupLocation(location: string, config: QpipeConfig): Promise<ObjectStore> {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!s3) return new LocalObjectStore(location);
  const [{ S3Client }, { S3ObjectStore }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('../storage/s3-object-store.ts'),
  ]);
  const bucket = s3[1] as string;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new InvalidInputError('--to', `"${bucket}" is not a valid S3 bucket name`);
  }
  const client = new S3Client({ forcePathStyle: config.s3?.forcePathStyle ?? false });
  return new S3ObjectStore(client, bucket, (s3[2] ?? '').replace(/\/+$/, ''));
}

async function kubernetes(): Promise<ResourceRepository> {
  const { CustomObjectsApi, KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return new KubernetesResources(kc.makeApiClient(CustomObjectsApi));
}

async function source(config: QpipeConfig, files: readonly string[]): Promise<ResourceSource> {
  if (config.cluster === 'kubernetes') return kubernetes();
  const manifests = await loadManifests(files);
  const [firstError] = manifests.errors;
  if (firstError) throw firstError;
  return new FileResources([
    ...manifests.jobs.map((j) => j.value),
    ...(manifests.budgets as unknown as Record<string, unknown>[]),
    ...(manifests.backends as unknown as Record<string, unknown>[]),
  ]);
}

async function ledgerOf(config: QpipeConfig) {
  return (await createDeployedPorts(config, { budgets: [], backends: [], configMaps: [] })).ledger;
}

/** A scheduled backup's folder name: its UTC time, so names sort by age (20261207T021500Z). */
const DATED = /^\d{8}T\d{6}Z$/;
const datedName = (now: Date) => now.toISOString().replace(/[-:]|\.\d+/g, '');

/**
 * Writes a backup of the cluster's resources and the store's ledgers. With `keep`, into a folder
 * of its own named after the time (a scheduled backup), and only the newest `keep` such folders
 * stay; returns where it wrote.
 */
export async function backupTo(
  location: string,
  options: {
    config: QpipeConfig;
    /** Manifest files (the embedded default), or where the resources are (the bucket, on AWS). */
    resources: readonly string[] | ResourceSource;
    now?: Date;
    keep?: number;
  },
): Promise<BackupIndex & { location: string }> {
  const now = options.now ?? new Date();
  const folder = options.keep === undefined ? location : `${location.replace(/\/+$/, '')}/${datedName(now)}`;
  const resources = options.resources;
  const index = await createBackup({
    resources: 'list' in resources ? resources : await source(options.config, resources),
    ledger: await ledgerOf(options.config),
    target: await backupLocation(folder, options.config),
    now,
  });
  if (options.keep !== undefined) await pruneBackups(await backupLocation(location, options.config), options.keep);
  return { ...index, location: folder };
}

/** Deletes every dated backup folder but the newest `keep`. */
async function pruneBackups(store: ObjectStore, keep: number): Promise<void> {
  const keys = await store.list('');
  const folders = [...new Set(keys.map((key) => key.split('/')[0] ?? '').filter((name) => DATED.test(name)))].sort();
  const old = new Set(folders.slice(0, Math.max(0, folders.length - keep)));
  for (const key of keys) if (old.has(key.split('/')[0] ?? '')) await store.delete(key);
}

/** Restores a backup into the cluster and the store. */
export async function restoreFrom(location: string, options: { config: QpipeConfig }): Promise<RestoreReport> {
  return restoreBackup({
    resources: options.config.cluster === 'kubernetes' ? await kubernetes() : undefined,
    ledger: await ledgerOf(options.config),
    source: await backupLocation(location, options.config),
  });
}

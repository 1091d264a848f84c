/**
 * `qpipe backup` and `qpipe restore`: every qpipe resource (jobs, budgets, backends,
 * sessions) without status, and every budget ledger, written to a folder or an S3 prefix
 * as resources.yaml, ledgers/<key>.json and an index (backup.json); and read back. Restored
 * jobs are annotated so the pipeline does not run them again; ledgers come back whole, so
 * spending and reservations survive the rebuild.
 */
import { parseAllDocuments, stringify } from 'yaml';
import { LedgerState } from '../budget/ledger.ts';
import type { LedgerStore } from '../budget/ledger-store.ts';
import { updateLedger } from '../budget/ledger-store.ts';
import { InvalidInputError } from '../errors.ts';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { readDocument } from '../storage/documents.ts';
import { getText, type ObjectStore } from '../storage/object-store.ts';
import {
  BACKUP_KINDS,
  type BackupKind,
  type Manifest,
  type ResourceRepository,
  type ResourceSource,
} from './resources.ts';
import { RESTORED_ANNOTATION } from './restored.ts';

/** The index of a backup. */
export const BackupIndex = Type.Object({
  format: Type.Literal('qpipe-backup/1'),
  createdAt: Type.String(),
  resources: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  ledgers: Type.Array(Type.String()),
});
export type BackupIndex = Static<typeof BackupIndex>;

const INDEX = 'backup.json';

/** Writes a backup; returns its index. */
export async function createBackup(options: {
  resources: ResourceSource;
  ledger: LedgerStore;
  target: ObjectStore;
  now: Date;
}): Promise<BackupIndex> {
  const manifests: Manifest[] = [];
  const counts = {} as Record<BackupKind, number>;
  for (const kind of Object.keys(BACKUP_KINDS) as BackupKind[]) {
    const listed = await options.resources.list(kind);
    counts[kind] = listed.length;
    manifests.push(...listed);
  }
  await options.target.put('resources.yaml', manifests.map((m) => stringify(m)).join('---\n'), 'application/yaml');
  const ledgers = await options.ledger.list();
  for (const key of ledgers) {
    const { state } = await options.ledger.read(key);
    await options.target.put(`ledgers/${key}.json`, JSON.stringify(state, null, 2), 'application/json');
  }
  const index: BackupIndex = {
    format: 'qpipe-backup/1',
    createdAt: options.now.toISOString(),
    resources: counts,
    ledgers,
  };
  // The index goes last: a backup without one is incomplete.
  await options.target.put(INDEX, JSON.stringify(index, null, 2), 'application/json');
  return index;
}

/** What a restore did. */
export interface RestoreReport {
  readonly created: number;
  readonly replaced: number;
  /** Resources not restored because there is no cluster to restore them into. */
  readonly skipped: number;
  readonly ledgers: number;
}

/** Reads a backup back: ledgers first (so budgets are right before jobs reappear), then resources. */
export async function restoreBackup(options: {
  /** Absent on the embedded default: resources stay in resources.yaml for use as manifests. */
  resources: ResourceRepository | undefined;
  ledger: LedgerStore;
  source: ObjectStore;
}): Promise<RestoreReport> {
  const index = await readDocument(options.source, INDEX, Type.Unknown());
  if (!Value.Check(BackupIndex, index)) {
    throw new InvalidInputError(
      INDEX,
      `no qpipe backup here (${options.source.locate(INDEX)} is missing or not a backup index)`,
    );
  }
  for (const key of index.ledgers) {
    const state = await readDocument(options.source, `ledgers/${key}.json`, LedgerState);
    if (!state) throw new InvalidInputError(`ledgers/${key}.json`, 'is listed in the index but missing');
    await updateLedger(options.ledger, key, () => ({ state, result: undefined }));
  }
  const text = (await getText(options.source, 'resources.yaml')) ?? '';
  const manifests = parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
  if (!options.resources) return { created: 0, replaced: 0, skipped: manifests.length, ledgers: index.ledgers.length };
  let created = 0;
  let replaced = 0;
  for (const manifest of manifests) {
    const restored =
      manifest.kind === 'QiskitJob'
        ? {
            ...manifest,
            metadata: {
              ...manifest.metadata,
              annotations: { ...manifest.metadata.annotations, [RESTORED_ANNOTATION]: index.createdAt },
            },
          }
        : manifest;
    if ((await options.resources.apply(restored)) === 'created') created++;
    else replaced++;
  }
  return { created, replaced, skipped: 0, ledgers: index.ledgers.length };
}

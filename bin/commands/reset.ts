/** `qpipe reset`: empties the local store, to start over (the budget demo). */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { QpipeConfig } from '../../shared/config.ts';
import { STORE_PREFIXES } from '../../shared/storage/store-prefixes.ts';
import { writeOut } from '../terminal.ts';
import { UsageError } from './usage-error.ts';

/**
 * Deletes what qpipe keeps in the local store folder (results, status, ledgers, stored
 * resources, mail) and nothing else: a file of another program in the folder stays.
 */
export async function resetCommand(options: { config: QpipeConfig }): Promise<number> {
  if (options.config.s3) {
    throw new UsageError(
      `reset empties the local store only; the store is the bucket ${options.config.s3.bucket} (QPIPE_S3_BUCKET)`,
    );
  }
  const folder = options.config.storeDir;
  const names = new Set(STORE_PREFIXES.map((prefix) => prefix.replace(/\/$/, '')));
  const entries = await readdir(folder).catch(() => [] as string[]);
  const removed = entries.filter((entry) => names.has(entry));
  for (const entry of removed) await rm(join(folder, entry), { recursive: true, force: true });
  const left = entries.filter((entry) => !names.has(entry));
  if (left.length === 0) await rm(folder, { recursive: true, force: true });
  writeOut(
    removed.length === 0
      ? `${folder} holds nothing of qpipe's: nothing to reset\n`
      : `reset ${folder}: removed ${removed.sort().join(', ')}${left.length > 0 ? ` (left ${left.sort().join(', ')}, not qpipe's)` : ''}\n`,
  );
  return 0;
}

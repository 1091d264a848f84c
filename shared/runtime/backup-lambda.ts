/**
 * The scheduled backup on AWS, invoked by an EventBridge schedule (daily by default): what
 * `qpipe backup --keep N` does in a cluster's CronJob, for the stack's own state: the
 * resources `qpipe apply` keeps in the bucket and every ledger, into a dated folder under
 * `backups/` of the same bucket, keeping the newest N. Jobs on AWS are events, not resources:
 * their status and results stay in the versioned bucket.
 */
import middy from '@middy/core';
import { StoredResources } from '../backup/resources.ts';
import { backupTo } from '../cli/backup-command.ts';
import { type QpipeConfig, loadConfig } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import { logger } from '../observability/log.ts';
import { createDeployedPorts } from './deployed-ports.ts';

export interface BackupSettings {
  readonly config: QpipeConfig;
  /** s3://bucket/prefix the dated folders go under. */
  readonly location: string;
  readonly keep: number;
}

/** The settings from the function's environment: QPIPE_BACKUP_TO and QPIPE_BACKUP_KEEP beside the usual ones. */
export function backupSettings(env: NodeJS.ProcessEnv): BackupSettings {
  const location = env['QPIPE_BACKUP_TO'] ?? '';
  if (!location.startsWith('s3://')) throw new InvalidInputError('QPIPE_BACKUP_TO', 'must be an s3:// location');
  const keep = Number(env['QPIPE_BACKUP_KEEP'] ?? '14');
  if (!Number.isInteger(keep) || keep < 1) {
    throw new InvalidInputError(
      'QPIPE_BACKUP_KEEP',
      `must be a whole number of backups, 1 or more (got "${env['QPIPE_BACKUP_KEEP']}")`,
    );
  }
  return { config: loadConfig(env), location, keep };
}

export function lambdaBackupHandler(options: { settings?: () => BackupSettings; now?: () => Date } = {}) {
  return middy(async () => {
    const { config, location, keep } = (options.settings ?? (() => backupSettings(process.env)))();
    const { store } = await createDeployedPorts(config, { budgets: [], backends: [], configMaps: [] });
    const now = options.now?.() ?? new Date();
    const written = await backupTo(location, { config, resources: new StoredResources(store), now, keep });
    logger().info(
      { location: written.location, resources: written.resources, ledgers: written.ledgers.length },
      'backed up',
    );
    return written;
  });
}

export const handler = lambdaBackupHandler();

/** Prints `qpipe backup` and `qpipe restore`. */
import { backupTo, restoreFrom } from '../../shared/cli/backup-command.ts';
import type { QpipeConfig } from '../../shared/config.ts';
import { writeOut } from '../terminal.ts';

/** Writes a backup and says what it holds. */
export async function backupCommand(
  location: string,
  options: { config: QpipeConfig; output: 'text' | 'json'; resources: readonly string[]; keep?: number },
): Promise<number> {
  const index = await backupTo(location, options);
  if (options.output === 'json') writeOut(`${JSON.stringify(index, null, 2)}\n`);
  else {
    const counts = Object.entries(index.resources)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ');
    writeOut(`backed up ${counts} and ${index.ledgers.length} ledgers to ${index.location}\n`);
  }
  return 0;
}

/** Restores a backup and says what it did. */
export async function restoreCommand(
  location: string,
  options: { config: QpipeConfig; output: 'text' | 'json' },
): Promise<number> {
  const report = await restoreFrom(location, options);
  if (options.output === 'json') writeOut(`${JSON.stringify(report, null, 2)}\n`);
  else {
    writeOut(
      `restored ${report.ledgers} ledgers; ${report.created} resources created, ${report.replaced} replaced` +
        (report.skipped > 0
          ? `; ${report.skipped} resources left in ${location}/resources.yaml (no cluster: set QPIPE_CLUSTER=kubernetes to restore them)`
          : '') +
        '\n',
    );
  }
  return 0;
}

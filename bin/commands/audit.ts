/** Prints `qpipe audit`: a job's runs, each decision on its own line. */
import { readAudit } from '../../shared/cli/audit-command.ts';
import type { QpipeConfig } from '../../shared/config.ts';
import { writeOut } from '../terminal.ts';

/** Prints every run's record; 0 when there is one. */
export async function auditCommand(
  name: string,
  options: { config: QpipeConfig; namespace: string; output: 'text' | 'json' },
): Promise<number> {
  const records = await readAudit(options.namespace, name, options.config);
  if (options.output === 'json') {
    writeOut(`${JSON.stringify(records, null, 2)}\n`);
    return 0;
  }
  for (const { job, entries } of records) {
    writeOut(`${job.namespace}/${job.name}  uid ${job.uid}  generation ${job.generation}\n`);
    for (const entry of entries) writeOut(`  ${entry.at}  ${entry.by.padEnd(15)}  ${entry.detail}\n`);
  }
  return 0;
}

/** Prints `qpipe audit`: a job's runs, each decision on its own line, or a budget's or backend's changes. */
import { readAudit } from '../../shared/cli/audit-command.ts';
import type { QpipeConfig } from '../../shared/config.ts';
import { writeOut } from '../terminal.ts';

/** Prints the record; 0 when there is one. */
export async function auditCommand(
  target: string,
  options: { config: QpipeConfig; namespace: string; output: 'text' | 'json' },
): Promise<number> {
  const answer = await readAudit(options.namespace, target, options.config);
  if (options.output === 'json') {
    writeOut(`${JSON.stringify(answer.kind === 'QiskitJob' ? answer.runs : answer.changes, null, 2)}\n`);
    return 0;
  }
  if (answer.kind !== 'QiskitJob') {
    for (const change of answer.changes) {
      const spec = change.spec === undefined ? '' : `  ${JSON.stringify(change.spec)}`;
      writeOut(`${change.at}  ${change.change.padEnd(7)}  by ${change.by}${spec}\n`);
    }
    return 0;
  }
  for (const { job, entries } of answer.runs) {
    writeOut(`${job.namespace}/${job.name}  uid ${job.uid}  generation ${job.generation}\n`);
    for (const entry of entries) writeOut(`  ${entry.at}  ${entry.by.padEnd(15)}  ${entry.detail}\n`);
  }
  return 0;
}

/** Prints `qpipe submit` and `qpipe status`. */
import { type Destination, readStatus, submitFiles } from '../../shared/cli/submit-command.ts';
import type { QpipeConfig } from '../../shared/config.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { TERMINAL_PHASES } from '../../shared/resources/schema.ts';
import { writeErr, writeOut } from '../terminal.ts';

/** Submits the files' valid jobs; exit code 0 when every job was valid and its event accepted. */
export async function submitCommand(
  files: readonly string[],
  options: { config: QpipeConfig; to: Destination; output: 'text' | 'json' },
): Promise<number> {
  const { submitted, refused } = await submitFiles(files, options);
  if (options.output === 'json') writeOut(`${JSON.stringify(submitted, null, 2)}\n`);
  else for (const job of submitted) writeOut(`submitted ${job.namespace}/${job.name} (uid ${job.uid})\n`);
  for (const job of refused) writeErr(`not submitted: ${job.error ?? job.subject}\n`);
  return refused.length === 0 ? 0 : 1;
}

/** Prints a job's status; with `wait`, polls until it is final. Exit 0 only for Succeeded. */
export async function statusCommand(
  name: string,
  options: { config: QpipeConfig; namespace: string; output: 'text' | 'json'; waitSeconds?: number },
): Promise<number> {
  const deadline = Date.now() + (options.waitSeconds ?? 0) * 1000;
  let lastPhase: string | undefined;
  for (;;) {
    const status = await readStatus(options.namespace, name, options.config);
    const final = status?.phase !== undefined && TERMINAL_PHASES.includes(status.phase);
    // While waiting, each phase change as it happens (text only: JSON is the final status alone).
    const phase = status?.phase ?? (status ? 'Pending' : undefined);
    if (options.waitSeconds !== undefined && options.output === 'text' && !final && phase !== lastPhase && phase) {
      const why = status?.message ? `  ${status.message}` : '';
      writeErr(`${new Date().toISOString().slice(11, 19)}  ${options.namespace}/${name}  ${phase}${why}\n`);
    }
    lastPhase = phase;
    if (final || Date.now() >= deadline) {
      if (!status) throw new InvalidInputError(`${options.namespace}/${name}`, 'no such job in the store');
      if (options.output === 'json') writeOut(`${JSON.stringify(status, null, 2)}\n`);
      else {
        writeOut(
          `${options.namespace}/${name}  ${status.phase ?? 'Pending'}  ${status.selectedBackend ?? ''}  ${status.actualCost ?? ''}\n`,
        );
        if (status.message) writeOut(`  ${status.message}\n`);
        if (status.results) writeOut(`  result ${status.results.location}\n`);
        const results = status.results;
        if (results?.hellingerFidelity !== undefined && results.totalVariationDistance !== undefined) {
          writeOut(
            `  against the ideal: Hellinger fidelity ${results.hellingerFidelity}, total variation distance ${results.totalVariationDistance}\n`,
          );
        }
      }
      return status.phase === 'Succeeded' ? 0 : 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

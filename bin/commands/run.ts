/** Prints `qpipe run` results: per job phase, backend, costs and a histogram. */
import { ALL_STAGES } from '../../functions/stages.ts';
import { renderHistogram } from '../../shared/cli/histogram.ts';
import { type BudgetOutcome, type JobOutcome, runJobFiles } from '../../shared/cli/run-command.ts';
import type { QpipeConfig } from '../../shared/config.ts';
import { PermanentError } from '../../shared/errors.ts';
import { startProgress } from './progress.ts';
import { writeErr, writeOut } from '../terminal.ts';

function describe(job: JobOutcome): string {
  const head = `${job.namespace}/${job.name}  ${job.phase}`;
  const lines = [head];
  if (job.backend) lines.push(`  backend         ${job.backend}`);
  if (job.estimatedCost || job.actualCost) {
    lines.push(`  cost            ${job.actualCost ?? 'n/a'} (estimated ${job.estimatedCost ?? 'n/a'})`);
  }
  if (job.shots !== null) lines.push(`  shots           ${job.shots}`);
  if (job.phase !== 'Succeeded' && job.message)
    lines.push(`  message         ${job.message.replace(/\n/g, '\n                  ')}`);
  if (job.resultLocation) lines.push(`  result          ${job.resultLocation}`);
  if (job.quality) {
    lines.push(
      `  vs ideal        Hellinger fidelity ${job.quality.hellingerFidelity}, total variation distance ${job.quality.totalVariationDistance}`,
    );
  }
  if (job.counts) lines.push(renderHistogram(job.counts));
  return lines.join('\n');
}

function describeBudget(budget: BudgetOutcome): string {
  const s = budget.status;
  const head = `budget ${budget.namespace}/${budget.name}  ${s?.phase ?? 'unused'}`;
  if (!s) return `${head}  limit ${budget.limit} ${budget.period}`;
  const alerts = s.notifiedThresholds?.length
    ? `  alerts sent at ${s.notifiedThresholds.map((t) => `${t}%`).join(', ')}`
    : '';
  return `${head}  spent ${s.spent} of ${budget.limit} (${budget.period}), reserved ${s.reserved}, remaining ${s.remaining}${alerts}`;
}

/** Runs the files' jobs and prints the outcome; 0 only when every job succeeded. */
export async function runCommand(
  files: readonly string[],
  options: { config: QpipeConfig; output: 'text' | 'json' },
): Promise<number> {
  const progress = startProgress();
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(130);
    writeErr(
      `\nqpipe: ${signal}: stopping; unfinished jobs fail and release their reservations (again to quit at once)\n`,
    );
    stop.abort(new PermanentError(`the run was stopped (${signal}) before the job finished`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let report;
  try {
    report = await runJobFiles(files, {
      config: options.config,
      stages: ALL_STAGES,
      onProgress: progress.update,
      signal: stop.signal,
    });
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  for (const error of report.errors) writeErr(`qpipe: ${error.message}\n`);
  if (options.output === 'json') {
    writeOut(`${JSON.stringify(report.jobs, null, 2)}\n`);
  } else {
    writeOut(report.jobs.map(describe).join('\n\n') + (report.jobs.length > 0 ? '\n' : ''));
    if (report.budgets.length > 0) writeOut(`\n${report.budgets.map(describeBudget).join('\n')}\n`);
    if (report.outbox.length > 0) {
      writeOut(
        `${report.outbox.length} alert email(s) in the outbox:\n${report.outbox.map((f) => `  ${f}`).join('\n')}\n`,
      );
    }
    if (report.jobs.length === 0 && report.errors.length === 0) writeOut('no QiskitJob documents in the files\n');
    // Budgets keep their spending in the store across runs: say where, and how to start over.
    if (report.budgets.length > 0 && !options.config.s3) {
      writeOut(
        `\nBudgets keep this period's spending in ${options.config.storeDir} across runs (qpipe get budgets -A); ` +
          'qpipe reset starts over.\n',
      );
    }
  }
  if (stop.signal.aborted) return 130;
  const allSucceeded = report.jobs.every((j) => j.phase === 'Succeeded');
  return report.errors.length === 0 && report.jobs.length > 0 && allSucceeded ? 0 : 1;
}

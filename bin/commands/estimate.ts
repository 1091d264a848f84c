/** Prints `qpipe estimate`: per job, every candidate backend with its cost and score. */
import { estimateFiles, type JobEstimate } from '../../shared/cli/estimate-command.ts';
import type { QpipeConfig } from '../../shared/config.ts';
import { formatMoney, formatMoneyFixed, parseMoney } from '../../shared/money.ts';
import { writeErr, writeOut } from '../terminal.ts';

function table(job: JobEstimate): string {
  if (job.error) return `${job.job}\n  ${job.error}`;
  const chosen = (r: { backend: string }) => Number(r.backend === job.selected);
  const rows = [...job.candidates].sort(
    (a, b) => chosen(b) - chosen(a) || Number(b.eligible) - Number(a.eligible) || b.score - a.score,
  );
  const lines = [`${job.job}  ${job.shots} shots  →  ${job.selected ?? 'no backend'}`];
  if (job.budget) lines.push(`  budget: ${job.budget}`);
  const width = Math.max(...rows.map((r) => r.backend.length), 7);
  lines.push(`  ${'backend'.padEnd(width)}  ${'worst case'.padStart(12)}  score  notes`);
  for (const row of rows) {
    const notes = row.eligible
      ? [
          row.backend === job.selected ? 'selected' : '',
          row.configuredHere ? '' : `${row.type} not configured here`,
          row.breakdown.map((b) => `${b.item} = ${formatMoney(b.micros)}`).join(' + '),
        ]
          .filter(Boolean)
          .join('; ')
      : row.backend === job.selected
        ? `selected as the fallback (spec.backendSelection.fallbackToSimulator): no other backend can run it`
        : `excluded: ${row.reason}`;
    // Worst-case cost to a hundredth of a cent, rounded up, so the column lines up.
    const cost = formatMoneyFixed(parseMoney(row.estimatedCost), 4);
    lines.push(`  ${row.backend.padEnd(width)}  ${cost.padStart(12)}  ${row.score.toFixed(3)}  ${notes}`);
  }
  return lines.join('\n');
}

/** Estimates the jobs of the files; exit code 1 when any could not be estimated. */
export async function estimateCommand(
  files: readonly string[],
  options: { config: QpipeConfig; output: 'text' | 'json' },
): Promise<number> {
  const report = await estimateFiles(files, { config: options.config });
  for (const error of report.errors) writeErr(`qpipe: ${error.message}\n`);
  if (options.output === 'json') writeOut(`${JSON.stringify(report.jobs, null, 2)}\n`);
  else writeOut(`${report.jobs.map(table).join('\n\n')}\n`);
  return report.errors.length === 0 && report.jobs.length > 0 && report.jobs.every((j) => !j.error) ? 0 : 1;
}

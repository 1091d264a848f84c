/**
 * Where alerts link their runbook (docs/runbooks/): the PrometheusRule's `runbook_url` and the
 * CloudWatch alarms' descriptions share the pages, so an operator reads one page per problem.
 */
export const RUNBOOK_PAGES = [
  'job-failures',
  'budget-exceeded',
  'stage-down',
  'dead-letters',
  'retries',
  'lost-deliveries',
  'backup-failed',
] as const;
export type RunbookPage = (typeof RUNBOOK_PAGES)[number];

/** The published docs; a fork renders its own with QPIPE_RUNBOOK_BASE at `npm run gen`. */
const BASE = process.env['QPIPE_RUNBOOK_BASE'] ?? 'https://github.com/qpipe/qpipe/blob/main/docs/runbooks/';

export function runbookUrl(page: RunbookPage): string {
  return `${BASE}${page}.md`;
}

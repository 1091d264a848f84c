/** The text of budget alert emails: a subject with the amounts, and plain and HTML bodies. */
import type { TypedEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';

type Input = TypedEvent<typeof EventType.BudgetThreshold | typeof EventType.BudgetExceeded>;

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function table(rows: readonly (readonly [string, string])[]): { text: string; html: string } {
  const width = Math.max(...rows.map(([k]) => k.length));
  return {
    text: rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'),
    html: `<table>${rows.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`,
  };
}

/** Subject and bodies of an alert; `waiting` lists the jobs held for the budget (exceeded alerts). */
export function composeAlert(
  event: Input,
  waiting: readonly string[] = [],
): { subject: string; text: string; html: string } {
  const { budget } = event.data;
  const name = `${budget.namespace}/${budget.name}`;
  if (event.type === EventType.BudgetThreshold) {
    const d = event.data;
    const crossed = d.crossed ?? [d.threshold];
    const thresholds = crossed.map((t) => `${t}%`);
    const named =
      thresholds.length > 1 ? ` (crossed ${thresholds.slice(0, -1).join(', ')} and ${thresholds.at(-1)})` : '';
    const subject = `Budget ${name} at ${d.threshold}%${named}: ${d.spent} of ${d.limit}`;
    const summary = table([
      ['Budget', name],
      ['Period', budget.period],
      [thresholds.length > 1 ? 'Thresholds' : 'Threshold', thresholds.join(', ')],
      ['Spent', d.spent],
      ['Limit', d.limit],
    ]);
    const jobs = table(d.topJobs.map((j) => [j.job, j.cost] as const));
    return {
      subject,
      text: `${subject}\n\n${summary.text}\n\nJobs that cost most this period:\n${jobs.text || '(none)'}\n`,
      html: `<h2>${escapeHtml(subject)}</h2>${summary.html}<h3>Jobs that cost most this period</h3>${jobs.html}`,
    };
  }
  const d = event.data;
  const verb = d.blocked ? 'blocked' : 'allowed over the limit';
  const subject = `Budget ${name} exceeded: job ${d.job.namespace}/${d.job.name} ${verb} (${d.estimate} requested, limit ${d.limit})`;
  const summary = table([
    ['Budget', name],
    ['Period', budget.period],
    ['Job', `${d.job.namespace}/${d.job.name}`],
    ['Estimated cost', d.estimate],
    ['Spent', d.spent],
    ['Reserved', d.reserved],
    ['Limit', d.limit],
  ]);
  // One exceeded alert is sent per budget and period: later blocked jobs show in the budget's status.
  const others = waiting.filter((job) => job !== `${d.job.namespace}/${d.job.name}`);
  const note =
    'This alert is sent once per period; ' +
    `\`qpipe describe budget ${budget.name} -n ${budget.namespace}\` (or kubectl describe qbud) shows jobs blocked later.`;
  const list =
    others.length === 0 ? '' : `\n\nAlso waiting for this budget:\n${others.map((j) => `  ${j}`).join('\n')}`;
  return {
    subject,
    text: `${subject}\n\n${summary.text}${list}\n\n${note}\n`,
    html:
      `<h2>${escapeHtml(subject)}</h2>${summary.html}` +
      (others.length === 0
        ? ''
        : `<h3>Also waiting for this budget</h3><ul>${others.map((j) => `<li>${escapeHtml(j)}</li>`).join('')}</ul>`) +
      `<p>${escapeHtml(note)}</p>`,
  };
}

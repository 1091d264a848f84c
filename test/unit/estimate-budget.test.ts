import { describe, expect, it } from 'vitest';
import { buildJobEvent, parseEvent } from '../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import type { EventData } from '../../events/schemas.ts';
import { EventType } from '../../events/types.ts';
import { projectStatus } from '../../functions/collect-results/projection.ts';
import { budgetNote } from '../../shared/cli/estimate-command.ts';
import { budget } from '../support/manifests.ts';

describe('which budget a job is charged to, said before and after', () => {
  it('names the budget estimate expects approval to charge, or says there is none', () => {
    const budgets = [budget('team'), budget('lab', {}, 'research'), budget('other', {}, 'research')];
    expect(budgetNote('default', undefined, budgets)).toBe('team');
    expect(budgetNote('ci', undefined, budgets)).toBe(
      'none: no QiskitBudget in namespace ci; the job costs nothing, so it runs unbudgeted',
    );
    expect(budgetNote('ci', undefined, budgets, { paid: true, policy: 'refuse' })).toMatch(
      /the job is refused, as this installation runs no paid job without a budget/,
    );
    expect(budgetNote('ci', undefined, budgets, { paid: true, policy: 'allow' })).toMatch(
      /runs unbudgeted \(QPIPE_UNBUDGETED_PAID_JOBS=allow\)/,
    );
    expect(budgetNote('research', undefined, budgets)).toMatch(/several in namespace research \(lab, other\)/);
    expect(budgetNote('research', 'lab', budgets)).toBe('lab');
    expect(budgetNote('default', 'nope', budgets)).toBe('nope (not found in namespace default)');
  });

  it('says in the job status when it was approved without a budget', () => {
    const example = parseEvent(EXAMPLE_EVENTS[EventType.JobApproved]).data as EventData<typeof EventType.JobApproved>;
    const { budget: _budget, ...unbudgeted } = example;
    const approved = parseEvent(
      buildJobEvent(EventType.JobApproved, unbudgeted, example.job, { source: '/qpipe/enforce-budget' }),
    );
    const status = projectStatus(undefined, approved, new Date('2026-11-30T00:00:00Z'));
    expect(status?.message).toBe(`approved unbudgeted: no QiskitBudget in namespace ${example.job.namespace}`);
    expect(status?.conditions?.find((c) => c.type === 'BudgetApproved')?.reason).toBe('NoBudget');
  });
});

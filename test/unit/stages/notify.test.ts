import { describe, expect, it } from 'vitest';
import { EXAMPLE_EVENTS } from '../../../events/examples.ts';
import { EventType } from '../../../events/types.ts';
import { stage } from '../../../functions/notify/handler.ts';
import { ledgerKey } from '../../../shared/budget/ledger-store.ts';
import { EMPTY_LEDGER } from '../../../shared/budget/ledger.ts';
import { runStage } from '../../../shared/runtime/stage.ts';
import { memoryPorts } from '../../support/memory-ports.ts';

describe('notify stage', () => {
  it('emails a threshold alert with the amounts in the subject and a spending table', async () => {
    const ports = memoryPorts();
    await runStage(stage, EXAMPLE_EVENTS[EventType.BudgetThreshold], ports);
    expect(ports.mailer.sent).toHaveLength(1);
    const [mail] = ports.mailer.sent;
    expect(mail?.to).toBe('quantum-budget@example.com');
    expect(mail?.subject).toBe('Budget quantum-research/monthly at 75%: $7,512.40 of $10,000.00');
    expect(mail?.text).toContain('quantum-research/vqe-sweep');
    expect(mail?.html).toContain('<table>');
  });

  it('sends each alert once, however often it is delivered', async () => {
    const ports = memoryPorts();
    for (let i = 0; i < 3; i++) await runStage(stage, EXAMPLE_EVENTS[EventType.BudgetExceeded], ports);
    expect(ports.mailer.sent).toHaveLength(1);
    expect(ports.mailer.sent[0]?.subject).toMatch(/exceeded: job quantum-research\/bell blocked/);
  });

  it('sends one exceeded alert per budget and period for a burst of blocked jobs, listing the jobs waiting', async () => {
    const ports = memoryPorts();
    const example = EXAMPLE_EVENTS[EventType.BudgetExceeded];
    const { budget } = example.data as { budget: { namespace: string; name: string; period: string } };
    const jobs = Array.from({ length: 24 }, (_, i) => `quantum-research/job-${i}`);
    const waiting = Object.fromEntries(jobs.map((job, i) => [`uid-${i}/1`, { job, heldRef: `held/${i}` }]));
    await ports.ledger.compareAndSwap(ledgerKey(budget), undefined, { ...EMPTY_LEDGER, waiting });
    const burst = jobs.map((job, i) =>
      example.cloneWith({
        id: `exceeded-${i}`,
        data: {
          ...(example.data as object),
          job: { namespace: 'quantum-research', name: `job-${i}`, uid: `uid-${i}`, generation: 1 },
        },
      } as never),
    );
    for (const event of burst) await runStage(stage, event, ports);
    expect(ports.mailer.sent).toHaveLength(1);
    expect(ports.mailer.sent[0]?.text).toContain('quantum-research/job-23');
    expect(ports.mailer.sent[0]?.text).toMatch(/sent once per period/);

    const nextPeriod = example.cloneWith({
      id: 'exceeded-next-period',
      data: { ...(example.data as object), budget: { ...budget, period: 'next' } },
    } as never);
    await runStage(stage, nextPeriod, ports);
    expect(ports.mailer.sent).toHaveLength(2);
  });

  it('keeps an alert whose sending failed, so the retry sends it', async () => {
    const ports = memoryPorts();
    ports.mailer.failures = 1;
    const first = await runStage(stage, EXAMPLE_EVENTS[EventType.BudgetThreshold], ports);
    expect(first.retry).toBeDefined();
    await runStage(stage, EXAMPLE_EVENTS[EventType.BudgetThreshold], ports);
    expect(ports.mailer.sent).toHaveLength(1);
  });
});

import { describe, expect, it } from 'vitest';
import { EXAMPLE_EVENTS } from '../../../events/examples.ts';
import { EventType } from '../../../events/types.ts';
import { stage } from '../../../functions/notify/handler.ts';
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

  it('keeps an alert whose sending failed, so the retry sends it', async () => {
    const ports = memoryPorts();
    ports.mailer.failures = 1;
    const first = await runStage(stage, EXAMPLE_EVENTS[EventType.BudgetThreshold], ports);
    expect(first.retry).toBeDefined();
    await runStage(stage, EXAMPLE_EVENTS[EventType.BudgetThreshold], ports);
    expect(ports.mailer.sent).toHaveLength(1);
  });
});

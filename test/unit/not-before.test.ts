import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { waitUntilDue } from '../../shared/runtime/not-before.ts';

describe('holding events that say notbefore (runtimes on buses without delayed delivery)', () => {
  const event = (notbefore?: string) =>
    new CloudEvent({ type: 't', source: '/s', data: {}, ...(notbefore ? { notbefore } : {}) });

  it('waits until the earliest notbefore, capped', async () => {
    const now = Date.now();
    const started = performance.now();
    await waitUntilDue([event(new Date(now + 150).toISOString()), event(new Date(now + 5_000).toISOString())], 1_000);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(100);
    expect(waited).toBeLessThan(1_000);
    const capped = performance.now();
    await waitUntilDue([event(new Date(Date.now() + 60_000).toISOString())], 100);
    expect(performance.now() - capped).toBeLessThan(1_000);
  });

  it('does not wait for events that are due or say nothing', async () => {
    const started = performance.now();
    await waitUntilDue([event(), event(new Date(Date.now() - 1_000).toISOString())]);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

import { describe, expect, it } from 'vitest';
import { claimWork, WorkInProgressError } from '../../shared/idempotency/claims.ts';
import { MemoryObjectStore } from '../support/memory-ports.ts';

describe('in-progress claims (memory store with create-if-absent)', () => {
  it('lets one of many concurrent claimants in and tells the others when to come back', async () => {
    const store = new MemoryObjectStore();
    const now = () => 1_000;
    const attempts = await Promise.allSettled(
      Array.from({ length: 10 }, () => claimWork({ store, work: 'execute/u-1', leaseMs: 5_000, now })),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    for (const attempt of attempts.filter((a) => a.status === 'rejected')) {
      expect(attempt.reason).toBeInstanceOf(WorkInProgressError);
      expect((attempt.reason as WorkInProgressError).retryAt).toBe(6_000);
    }
  });

  it('lets another worker take over once a crashed holder lease has expired, and only one', async () => {
    const store = new MemoryObjectStore();
    let clock = 0;
    const now = () => clock;
    await claimWork({ store, work: 'w', leaseMs: 1_000, now });
    // The holder "crashes": its renewal timer is never seen again (the clock jumps past the lease).
    clock = 5_000;
    const takers = await Promise.allSettled([1, 2, 3].map(() => claimWork({ store, work: 'w', leaseMs: 1_000, now })));
    expect(takers.filter((t) => t.status === 'fulfilled')).toHaveLength(1);
    expect([...store.objects.keys()].sort()).toEqual(['claims/w/0', 'claims/w/1']);
  });

  it('frees the work at once when the holder releases it', async () => {
    const store = new MemoryObjectStore();
    const now = () => 0;
    const held = await claimWork({ store, work: 'w', leaseMs: 60_000, now });
    await expect(claimWork({ store, work: 'w', leaseMs: 60_000, now })).rejects.toBeInstanceOf(WorkInProgressError);
    await held.release();
    await expect(claimWork({ store, work: 'w', leaseMs: 60_000, now })).resolves.toBeDefined();
  });

  it('keeps a live holder lease fresh while it works', async () => {
    const store = new MemoryObjectStore();
    let clock = 0;
    const held = await claimWork({ store, work: 'w', leaseMs: 60, now: () => clock });
    clock = 50;
    await new Promise((r) => setTimeout(r, 50));
    clock = 70; // past the first expiry, but the lease was renewed at 50
    await expect(claimWork({ store, work: 'w', leaseMs: 60, now: () => clock })).rejects.toBeInstanceOf(
      WorkInProgressError,
    );
    await held.release();
  });
});

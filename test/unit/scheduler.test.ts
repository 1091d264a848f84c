import { describe, expect, it } from 'vitest';
import { buildJobEvent, parseEvent } from '../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import type { EventData } from '../../events/schemas.ts';
import { EventType } from '../../events/types.ts';
import { isStalled } from '../../shared/cluster/resync.ts';
import { splitByDue } from '../../shared/scheduler/scheduler.ts';
import { StoreScheduler } from '../../shared/scheduler/store-scheduler.ts';
import { type ResyncCluster, tick } from '../../shared/runtime/timer.ts';
import { MemoryObjectStore } from '../support/memory-ports.ts';

const T0 = Date.parse('2026-11-30T12:00:00Z');
const held = parseEvent(EXAMPLE_EVENTS[EventType.JobHeld]).data as EventData<typeof EventType.JobHeld>;

function recheck(name: string, dueMs: number) {
  const job = { ...held.job, name, uid: `uid-${name}` };
  return buildJobEvent(EventType.JobHeld, { ...held, job }, job, {
    source: '/qpipe/enforce-budget',
    notbefore: new Date(dueMs).toISOString(),
  });
}

describe('store scheduler (memory store)', () => {
  it('releases due events oldest first, once each, and keeps the rest', async () => {
    const store = new MemoryObjectStore();
    const scheduler = new StoreScheduler(store);
    const late = recheck('late', T0 + 20_000);
    await scheduler.schedule([recheck('b', T0 + 10_000), recheck('a', T0 + 5_000), late]);
    // A duplicate scheduling of the same event is the same object.
    await scheduler.schedule([recheck('a', T0 + 5_000)]);
    const published: string[] = [];
    const released = await scheduler.releaseDue(T0 + 15_000, async (events) => {
      published.push(...events.map((e) => e.subject ?? ''));
    });
    expect(released).toBe(2);
    expect(published).toEqual(['quantum-research/a', 'quantum-research/b']);
    expect(await store.list('scheduled/')).toHaveLength(1);
    expect(await scheduler.releaseDue(T0 + 15_000, async () => undefined)).toBe(0);
  });

  it('keeps an event whose publication failed, to release it on the next tick', async () => {
    const scheduler = new StoreScheduler(new MemoryObjectStore());
    await scheduler.schedule([recheck('a', T0)]);
    await expect(scheduler.releaseDue(T0, async () => Promise.reject(new Error('broker down')))).rejects.toThrow(
      'broker down',
    );
    const published: string[] = [];
    await scheduler.releaseDue(T0, async (events) => void published.push(...events.map((e) => e.type)));
    expect(published).toEqual([EventType.JobHeld]);
  });

  it('splits what a stage emitted into now and later', () => {
    const { now, later } = splitByDue([recheck('soon', T0 + 1), recheck('past', T0 - 1)], T0);
    expect(now.map((e) => e.subject)).toEqual(['quantum-research/past']);
    expect(later.map((e) => e.subject)).toEqual(['quantum-research/soon']);
  });
});

const job = (name: string, namespace: string, status?: Record<string, unknown>, created = T0 - 60_000) => ({
  apiVersion: 'quantum.io/v1',
  kind: 'QiskitJob',
  metadata: { name, namespace, uid: `uid-${name}`, generation: 1, creationTimestamp: new Date(created).toISOString() },
  spec: { circuit: { source: 'inline', code: 'OPENQASM 3;\nqubit q;\nh q;' } },
  ...(status === undefined ? {} : { status }),
});

describe('resync of stalled jobs', () => {
  it.each([
    ['a job nobody picked up', job('a', 'ns'), true],
    ['a job created a moment ago', job('b', 'ns', undefined, T0 - 1_000), false],
    [
      'a job stuck in Approved',
      job('c', 'ns', { phase: 'Approved', observedGeneration: 1, startTime: new Date(T0 - 60_000).toISOString() }),
      true,
    ],
    ['a job waiting for budget', job('d', 'ns', { phase: 'AwaitingBudget', observedGeneration: 1 }), false],
    ['a finished job', job('e', 'ns', { phase: 'Succeeded', observedGeneration: 1 }), false],
    ['a finished job whose spec changed since', job('f', 'ns', { phase: 'Succeeded', observedGeneration: 0 }), true],
  ])('%s: stalled %s', (_case, object, stalled) => {
    expect(isStalled(object, T0, 30_000)).toBe(stalled);
  });

  it('requests a job nobody picked up after a minute, though the resync period is longer', () => {
    const unseen = job('g', 'ns', undefined, T0 - 61_000);
    const moving = job('h', 'ns', {
      phase: 'Approved',
      observedGeneration: 1,
      startTime: new Date(T0 - 61_000).toISOString(),
    });
    expect(isStalled(unseen, T0, 600_000)).toBe(true);
    expect(isStalled(job('i', 'ns', undefined, T0 - 30_000), T0, 600_000)).toBe(false);
    expect(isStalled(moving, T0, 600_000)).toBe(false);
  });

  it('requests stalled jobs of enabled namespaces once per period', async () => {
    const store = new MemoryObjectStore();
    const cluster: ResyncCluster = {
      listJobObjects: async () => [job('on', 'enabled'), job('off', 'other')],
      namespaceLabels: async (name) => (name === 'enabled' ? { 'qpipe.io/jobs': 'enabled' } : {}),
    };
    const published: string[] = [];
    let now = T0;
    const options = {
      scheduler: new StoreScheduler(store),
      store,
      publish: async (events: { type: string; subject?: string }[]) =>
        void published.push(...events.map((e) => `${e.type} ${e.subject}`)),
      now: () => new Date(now),
      resync: { cluster, afterMs: 30_000 },
    };
    expect((await tick(options)).requested).toEqual(['enabled/on']);
    expect((await tick(options)).requested).toEqual([]);
    now += 30_000;
    expect((await tick(options)).requested).toEqual(['enabled/on']);
    expect(published).toEqual(['io.quantum.job.requested enabled/on', 'io.quantum.job.requested enabled/on']);
  });
});

describe('budget gauges from the timer', () => {
  it('exports every budget from its status at each tick, counting an earlier period as nothing spent', async () => {
    const { metrics, registry } = await import('../../shared/observability/metrics.ts');
    const store = new MemoryObjectStore();
    const budget = (name: string, status: Record<string, unknown>) => ({
      metadata: { name, namespace: 'research' },
      spec: { limit: '$100.00', period: 'monthly' },
      status,
    });
    const budgets = [
      budget('current', { spent: '$120.00', reserved: '$5.50', periodStart: '2026-12-01T00:00:00.000Z' }),
      budget('last-month', { spent: '$90.00', reserved: '$1.00', periodStart: '2026-11-01T00:00:00.000Z' }),
      { metadata: { name: 'broken', namespace: 'research' }, spec: { limit: 'lots', period: 'monthly' } },
    ];
    const report = await tick({
      scheduler: new StoreScheduler(store),
      store,
      publish: async () => undefined,
      now: () => new Date('2026-12-07T12:00:00Z'),
      budgetGauges: { cluster: { listResourceObjects: async () => budgets }, metrics },
    });
    expect(report.budgets).toBe(2);
    const text = await registry.metrics();
    expect(text).toContain('qiskitbudget_spent_dollars{namespace="research",budget="current"} 120');
    expect(text).toContain('qiskitbudget_reserved_dollars{namespace="research",budget="current"} 5.5');
    expect(text).toContain('qiskitbudget_limit_dollars{namespace="research",budget="current"} 100');
    expect(text).toContain('qiskitbudget_spent_dollars{namespace="research",budget="last-month"} 0');
    expect(text).not.toContain('budget="broken"');
  });
});

describe('EventBridge Scheduler times', () => {
  it('rounds a due time up to the whole second, never before it', async () => {
    const { atExpression } = await import('../../shared/scheduler/eventbridge-scheduler.ts');
    const now = Date.parse('2026-12-07T12:00:00.000Z');
    expect(atExpression(Date.parse('2026-12-07T12:00:30.400Z'), now)).toBe('at(2026-12-07T12:00:31)');
    expect(atExpression(Date.parse('2026-12-07T12:00:30.000Z'), now)).toBe('at(2026-12-07T12:00:30)');
    // Never in the past: a second from now at the soonest.
    expect(atExpression(now - 5_000, now)).toBe('at(2026-12-07T12:00:01)');
  });
});

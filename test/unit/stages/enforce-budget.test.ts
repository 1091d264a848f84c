import type { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { buildEvent, buildJobEvent, parseEvent } from '../../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../../events/examples.ts';
import type { EventData, JobRef } from '../../../events/schemas.ts';
import { EventType } from '../../../events/types.ts';
import { stage } from '../../../functions/enforce-budget/handler.ts';
import type { QiskitBudget } from '../../../shared/resources/schema.ts';
import { BudgetExceededError } from '../../../shared/budget/budget-exceeded.ts';
import { JobRejection } from '../../../shared/runtime/outcomes.ts';
import { runStage } from '../../../shared/runtime/stage.ts';
import { splitByDue } from '../../../shared/scheduler/scheduler.ts';
import { budget } from '../../support/manifests.ts';
import { memoryPorts, received, withHeldObjects } from '../../support/memory-ports.ts';

const job = (name: string): JobRef => ({ namespace: 'default', name, uid: `uid-${name}`, generation: 1 });

function scheduled(
  name: string,
  micros: number,
  spec: Record<string, unknown> = {},
  backend?: EventData<typeof EventType.JobScheduled>['backend'],
): CloudEvent<unknown> {
  const example = parseEvent(EXAMPLE_EVENTS[EventType.JobScheduled]).data as EventData<typeof EventType.JobScheduled>;
  return buildJobEvent(
    EventType.JobScheduled,
    {
      ...example,
      ...(backend ? { backend } : {}),
      job: job(name),
      spec: { ...example.spec, ...spec },
      estimate: { totalMicros: micros, breakdown: [] },
    },
    job(name),
    { source: '/qpipe/select-backend' },
  );
}

/** The execute stage failing a job charged to budget default/team. */
function failedEvent(name: string): CloudEvent<unknown> {
  const budgetRef = { namespace: 'default', name: 'team', period: '2026-11' };
  return buildJobEvent(
    EventType.JobFailed,
    { job: job(name), stage: 'execute', reason: 'device offline', budget: budgetRef },
    job(name),
    {
      source: '/qpipe/execute',
    },
  );
}

function completed(name: string, micros: number, period = '2026-11'): CloudEvent<unknown> {
  return buildJobEvent(
    EventType.JobCompleted,
    {
      job: job(name),
      backend: 'local-simulator',
      result: { location: 'x', shots: 1, counts: {}, truncated: false },
      actualCostMicros: micros,
      budget: { namespace: 'default', name: 'team', period },
    },
    job(name),
    { source: '/qpipe/collect-results' },
  );
}

describe('enforce-budget stage', () => {
  it('approves a free job without a reservation when no budget applies', async () => {
    const run = await runStage(stage, scheduled('a', 0), memoryPorts());
    const approved = received(run.emitted[0] as never);
    expect(approved.type).toBe(EventType.JobApproved);
    if (approved.type === EventType.JobApproved) expect(approved.data.budget).toBeUndefined();
  });

  it('refuses a paid job in a namespace without a budget, unless the installation allows it', async () => {
    const refused = await runStage(stage, scheduled('a', 5_000_000), memoryPorts());
    const [rejected] = refused.emitted.map((e) => received(e));
    expect(rejected?.type).toBe(EventType.JobRejected);
    if (rejected?.type === EventType.JobRejected) {
      expect(rejected.data.reason).toMatch(/has no QiskitBudget, and this installation runs no paid job without one/);
    }
    const ports = memoryPorts();
    const allowing = { ...ports, config: { ...ports.config, budgets: { unbudgetedPaidJobs: 'allow' as const } } };
    const allowed = await runStage(stage, scheduled('a', 5_000_000), allowing);
    expect(allowed.emitted.map((e) => e.type)).toEqual([EventType.JobApproved]);
  });

  it('reserves the estimate and writes the budget status', async () => {
    const ports = memoryPorts({ budgets: [budget('team', { limit: '$10.00' })] });
    const run = await runStage(stage, scheduled('a', 4_000_000), ports);
    const approved = received(run.emitted[0] as never);
    if (approved.type !== EventType.JobApproved) throw new Error(approved.type);
    expect(approved.data.budget).toEqual({ namespace: 'default', name: 'team', period: '2026-11' });
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({
      phase: 'Active',
      spent: '$0.00',
      reserved: '$4.00',
      remaining: '$6.00',
      periodStart: '2026-11-01T00:00:00.000Z',
      // Which job holds what, and until when at the latest (twice 3 attempts of 240 s).
      reservations: [{ job: 'default/a', amount: '$4.00', expiresAt: '2026-11-15T12:24:00.000Z' }],
    });
  });

  it('rejects a job over budget with the amounts, and raises an exceeded alert', async () => {
    const ports = memoryPorts({
      budgets: [budget('team', { limit: '$10.00', notificationEmail: 'owner@example.com' })],
    });
    await runStage(stage, scheduled('a', 7_000_000), ports);
    const run = await runStage(stage, scheduled('b', 5_000_000), ports);
    const events = run.emitted.map((e) => received(e as never));
    expect(events.map((e) => e.type).sort()).toEqual([EventType.BudgetExceeded, EventType.JobRejected]);
    const rejected = events.find((e) => e.type === EventType.JobRejected);
    if (rejected?.type !== EventType.JobRejected) throw new Error('no rejection');
    expect(rejected.data.reason).toBe(
      'budget default/team (2026-11) cannot cover this job: estimated $5.00, spent $0.00, reserved $7.00, limit $10.00, available $3.00',
    );
    const alert = events.find((e) => e.type === EventType.BudgetExceeded);
    if (alert?.type !== EventType.BudgetExceeded) throw new Error('no alert');
    expect(alert.data).toMatchObject({
      estimate: '$5.00',
      reserved: '$7.00',
      blocked: true,
      notificationEmail: 'owner@example.com',
    });
  });

  it('says why as a BudgetExceededError carrying the amounts, not only words', async () => {
    const ports = memoryPorts({ budgets: [budget('team', { limit: '$10.00' })] });
    await runStage(stage, scheduled('a', 7_000_000), ports);
    const event = received(scheduled('b', 5_000_000));
    const error = await stage.handle(event, ports).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobRejection);
    const cause = (error as JobRejection).cause;
    expect(cause).toBeInstanceOf(BudgetExceededError);
    expect((cause as BudgetExceededError).budget).toEqual({ namespace: 'default', name: 'team', period: '2026-11' });
    expect((cause as BudgetExceededError).amounts).toEqual({
      estimateMicros: 5_000_000,
      spentMicros: 0,
      reservedMicros: 7_000_000,
      limitMicros: 10_000_000,
    });
  });

  it('lets a job proceed over the limit without blockOnExceed, with an alert', async () => {
    const ports = memoryPorts({ budgets: [budget('team', { limit: '$1.00', enforcement: { blockOnExceed: false } })] });
    const run = await runStage(stage, scheduled('a', 5_000_000), ports);
    expect(run.emitted.map((e) => e.type).sort()).toEqual([EventType.BudgetExceeded, EventType.JobApproved]);
  });

  it('rejects a job whose estimate exceeds its own budget.maxCost', async () => {
    const run = await runStage(stage, scheduled('a', 6_000_000, { budget: { maxCost: '$5.00' } }), memoryPorts());
    const rejected = received(run.emitted[0] as never);
    if (rejected.type !== EventType.JobRejected) throw new Error(rejected.type);
    expect(rejected.data.reason).toMatch(/estimated cost \$6\.00 on local-simulator exceeds the job's maxCost \$5\.00/);
  });

  it('settles once even when the completion is delivered three times, and alerts the thresholds it crossed once, in one alert', async () => {
    const ports = memoryPorts({ budgets: [budget('team', { limit: '$10.00' })] });
    await runStage(stage, scheduled('a', 8_000_000), ports);
    const alerts = [];
    for (let i = 0; i < 3; i++) alerts.push(...(await runStage(stage, completed('a', 8_000_000), ports)).emitted);
    expect(
      alerts
        .map((e) => received(e as never))
        .map((e) => (e.type === EventType.BudgetThreshold ? [e.data.threshold, e.data.crossed] : e.type)),
    ).toEqual([[75, [50, 75]]]);
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({
      spent: '$8.00',
      reserved: '$0.00',
      notifiedThresholds: [50, 75],
    });
  });

  it('releases the reservation of a failed job once', async () => {
    const ports = memoryPorts({ budgets: [budget('team', { limit: '$10.00' })] });
    await runStage(stage, scheduled('a', 8_000_000), ports);
    const failed = failedEvent('a');
    await runStage(stage, failed, ports);
    await runStage(stage, failed, ports);
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({
      reserved: '$0.00',
      remaining: '$10.00',
    });
  });
});

describe('enforce-budget stage: jobs waiting for budget (blockOnExceed with gracePeriod)', () => {
  function clockedPorts(budgets: QiskitBudget[]) {
    let now = new Date('2026-11-15T12:00:00Z');
    const ports = memoryPorts({ budgets }, { now: () => now });
    return { ports, advance: (ms: number) => (now = new Date(now.getTime() + ms)), at: () => now };
  }
  const types = (events: CloudEvent<unknown>[]) => events.map((e) => e.type).sort();

  it('holds a job that does not fit, then rejects it when the grace period ends, with the amounts', async () => {
    const { ports, advance } = clockedPorts([
      budget('team', { limit: '$10.00', enforcement: { blockOnExceed: true, gracePeriod: '10m' } }),
    ]);
    await runStage(stage, scheduled('big', 8_000_000), ports);
    const first = await runStage(stage, scheduled('late', 5_000_000), ports);
    expect(types(first.emitted)).toEqual([EventType.BudgetExceeded, EventType.JobHeld]);
    const held = received(first.emitted.find((e) => e.type === EventType.JobHeld) as never);
    if (held.type !== EventType.JobHeld) throw new Error(held.type);
    expect(held.data.deadline).toBe('2026-11-15T12:10:00.000Z');
    expect(held.extensions.notbefore).toBe('2026-11-15T12:00:05.000Z');

    advance(5_000);
    const recheck = await runStage(stage, first.emitted.find((e) => e.type === EventType.JobHeld) as never, ports);
    expect(types(recheck.emitted)).toEqual([EventType.JobHeld]);

    advance(600_000);
    const expired = await runStage(stage, recheck.emitted[0] as never, ports);
    const rejected = received(expired.emitted[0] as never);
    if (rejected.type !== EventType.JobRejected) throw new Error(rejected.type);
    expect(rejected.data.reason).toMatch(
      /estimated \$5\.00, spent \$0\.00, reserved \$8\.00, limit \$10\.00, available \$2\.00; waited 10m 5s \(gracePeriod 10m\)/,
    );
  });

  it('approves a waiting job as soon as a reservation is released', async () => {
    const { ports } = clockedPorts([
      budget('team', { limit: '$10.00', enforcement: { blockOnExceed: true, gracePeriod: '1h' } }),
    ]);
    await runStage(stage, scheduled('big', 8_000_000), ports);
    await runStage(stage, scheduled('late', 5_000_000), ports);
    const failed = failedEvent('big');
    const release = await runStage(stage, failed, ports);
    expect(types(release.emitted)).toEqual([EventType.JobHeld]);
    const approved = await runStage(stage, release.emitted[0] as never, ports);
    expect(types(approved.emitted)).toEqual([EventType.JobApproved]);
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({ reserved: '$5.00' });
    expect(Object.keys((await ports.ledger.read('default/team/2026-11')).state.waiting ?? {})).toEqual([]);
  });

  it('nudges only the waiting jobs that fit what a release frees: a release of nothing nudges none', async () => {
    const { ports } = clockedPorts([
      budget('team', { limit: '$10.00', enforcement: { blockOnExceed: true, gracePeriod: '1h' } }),
    ]);
    await runStage(stage, scheduled('big', 8_000_000), ports);
    await runStage(stage, scheduled('small', 3_000_000), ports);
    await runStage(stage, scheduled('huge', 9_000_000), ports);
    // A waiting job failing held no money: nobody else is re-checked (each re-check is a ledger write).
    expect((await runStage(stage, failedEvent('huge'), ports)).emitted).toEqual([]);
    await runStage(stage, scheduled('huge', 9_000_000), ports);
    // big's $8.00 back: $10.00 free, which fits small ($3.00) and huge ($9.00), each re-checked.
    const nudged = (await runStage(stage, failedEvent('big'), ports)).emitted.map((e) => received(e));
    expect(nudged.map((e) => (e.data as { job: { name: string } }).job.name).sort()).toEqual(['huge', 'small']);
  });

  it('approves a waiting job when the limit is raised', async () => {
    const budgets = [budget('team', { limit: '$10.00', enforcement: { blockOnExceed: true, gracePeriod: '1h' } })];
    const { ports } = clockedPorts(budgets);
    await runStage(stage, scheduled('big', 8_000_000), ports);
    await runStage(stage, scheduled('late', 5_000_000), ports);
    (budgets[0] as { spec: { limit: string } }).spec.limit = '$20.00';
    const update = buildEvent(EventType.ResourceUpdated, budgets[0] as never, { source: 'https://kubernetes' });
    const nudged = await runStage(stage, update, ports);
    expect(types(nudged.emitted)).toEqual([EventType.JobHeld]);
    expect(types((await runStage(stage, nudged.emitted[0] as never, ports)).emitted)).toEqual([EventType.JobApproved]);
  });

  it('approves a waiting job when a new period starts (controlled clock)', async () => {
    const { ports, advance, at } = clockedPorts([
      budget('daily', { limit: '$10.00', period: 'daily', enforcement: { blockOnExceed: true, gracePeriod: '2d' } }),
    ]);
    await runStage(stage, scheduled('big', 8_000_000), ports);
    const held = await runStage(stage, scheduled('late', 5_000_000), ports);
    advance(13 * 3_600_000); // past midnight UTC
    expect(at().toISOString()).toBe('2026-11-16T01:00:00.000Z');
    const recheck = await runStage(stage, held.emitted.find((e) => e.type === EventType.JobHeld) as never, ports);
    const approved = received(recheck.emitted[0] as never);
    if (approved.type !== EventType.JobApproved) throw new Error(approved.type);
    expect(approved.data.budget?.period).toBe('2026-11-16');
    expect((await ports.ledger.read('default/daily/2026-11-15')).state.waiting).toEqual({});
  });

  /** When a held re-check is due. */
  const dueOf = (event: CloudEvent<unknown>) => Date.parse((event as unknown as { notbefore: string }).notbefore);

  /** Holds job "late" behind "big" on the budget; `recheck` delivers a re-check at its due time. */
  async function holdBehindBig(held: QiskitBudget) {
    const clock = clockedPorts([held]);
    // A Braket task may well run for a day: its reservation stands until the poll deadline.
    const braket = { name: 'ionq-forte', type: 'aws_braket', fallbackUsed: false } as const;
    await runStage(stage, scheduled('big', 8_000_000, {}, braket), clock.ports);
    const first = (await runStage(stage, scheduled('late', 5_000_000), clock.ports)).emitted.find(
      (e) => e.type === EventType.JobHeld,
    );
    const recheck = async (event: CloudEvent<unknown>) => {
      expect(dueOf(event)).toBeGreaterThan(clock.at().getTime());
      clock.advance(dueOf(event) - clock.at().getTime());
      return (await runStage(stage, event, clock.ports)).emitted.find((e) => e.type !== EventType.BudgetExceeded);
    };
    return { ...clock, first, recheck };
  }

  it('re-checks a job held for 24 h a bounded number of times, following each notbefore (time compressed)', async () => {
    const { at, first, recheck } = await holdBehindBig(
      budget('team', { limit: '$10.00', period: 'total', enforcement: { blockOnExceed: true, gracePeriod: '24h' } }),
    );
    const heldAt = at().getTime();
    let next = first;
    let rechecks = 0;
    for (; next?.type === EventType.JobHeld; rechecks++) next = await recheck(next);
    expect(next?.type).toBe(EventType.JobRejected);
    // Rejected exactly at the deadline, after about 35 re-checks (doubling to an hour), not thousands.
    expect(at().getTime() - heldAt).toBe(24 * 3_600_000);
    expect(rechecks).toBeLessThanOrEqual(40);
  });

  it("takes its re-check delivered a little early (another pod's clock, a timer) as due, and ignores the at-once copy", async () => {
    const { ports, advance } = clockedPorts([
      budget('team', { limit: '$10.00', enforcement: { blockOnExceed: true, gracePeriod: '10m' } }),
    ]);
    await runStage(stage, scheduled('big', 8_000_000), ports);
    const held = (await runStage(stage, scheduled('late', 5_000_000), ports)).emitted.find(
      (e) => e.type === EventType.JobHeld,
    ) as CloudEvent<unknown>;
    // The copy published at once, seconds before its time: no work.
    expect((await runStage(stage, held, ports)).emitted).toEqual([]);
    // The due copy, 100 ms early by this clock: a re-check (held again, a new re-check).
    advance(dueOf(held) - Date.parse('2026-11-15T12:00:00Z') - 100);
    expect(types((await runStage(stage, held, ports)).emitted)).toEqual([EventType.JobHeld]);
  });

  it('acts on the copy a scheduler delivered, however early it comes (EventBridge Scheduler fires within its precision)', async () => {
    const { ports } = clockedPorts([
      budget('team', { limit: '$10.00', enforcement: { blockOnExceed: true, gracePeriod: '10m' } }),
    ]);
    await runStage(stage, scheduled('big', 8_000_000), ports);
    const held = (await runStage(stage, scheduled('late', 5_000_000), ports)).emitted.find(
      (e) => e.type === EventType.JobHeld,
    ) as CloudEvent<unknown>;
    const [scheduledCopy] = splitByDue([held], ports.now().getTime()).later;
    // Seconds before its time, still: the scheduler's copy is a re-check, never dropped.
    expect(types((await runStage(stage, scheduledCopy as CloudEvent<unknown>, ports)).emitted)).toEqual([
      EventType.JobHeld,
    ]);
    expect((await runStage(stage, held, ports)).emitted).toEqual([]);
  });

  it('re-checks a held job no later than the start of the next period', async () => {
    // Held at 12:00 UTC; the waits double, but none may jump past midnight.
    const { first, recheck } = await holdBehindBig(
      budget('daily', { limit: '$10.00', period: 'daily', enforcement: { blockOnExceed: true, gracePeriod: '2d' } }),
    );
    const midnight = Date.parse('2026-11-16T00:00:00.000Z');
    const dues: number[] = [];
    for (let next = first, i = 0; i < 40 && next?.type === EventType.JobHeld; i++) {
      dues.push(dueOf(next));
      if (dueOf(next) >= midnight) break;
      next = await recheck(next);
    }
    expect(dues.at(-1)).toBe(midnight);
  });

  it("reclaims a simulator run's reservation once its time limits have passed, fails that job, and admits the next", async () => {
    const { ports, advance } = clockedPorts([budget('team', { limit: '$10.00' })]);
    await runStage(stage, scheduled('died', 8_000_000), ports);
    expect(types((await runStage(stage, scheduled('early', 5_000_000), ports)).emitted)).toContain(
      EventType.BudgetExceeded,
    );
    // Twice every attempt of execute at its time limit (240 s x 3): no simulation can still be going.
    advance(2 * 3 * 240_000);
    const run = await runStage(stage, scheduled('next', 5_000_000), ports);
    const emitted = run.emitted.map((e) => received(e));
    expect(emitted.map((e) => e.type)).toEqual([EventType.JobFailed, EventType.JobApproved]);
    const failed = emitted[0];
    if (failed?.type !== EventType.JobFailed) throw new Error(String(failed?.type));
    expect(failed.data.job).toEqual(job('died'));
    expect(failed.data.reason).toMatch(
      /its run died: its reservation expired at .*; its reservation of \$8\.00 was released/,
    );
    expect(failed.source).toBe('/qpipe/enforce-budget');
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({ reserved: '$5.00' });
    // Until its failure comes back through the bus, every write announces it again (same event id).
    const again = await runStage(stage, scheduled('died', 8_000_000), ports);
    expect(again.emitted.map((e) => e.id)).toEqual([run.emitted[0]?.id]);
    await runStage(stage, run.emitted[0] as CloudEvent<unknown>, ports);
    // Then the dead run's own events, delivered late, change nothing.
    expect((await runStage(stage, scheduled('died', 8_000_000), ports)).emitted).toEqual([]);
  });

  it("takes back a dead run's reservation when its expiry check comes, though nothing else writes to the budget", async () => {
    const clocked = clockedPorts([budget('team', { limit: '$10.00' })]);
    const { advance } = clocked;
    // Where delayed events outlive the process (a scheduler: the store's on Knative, EventBridge Scheduler on AWS).
    const ports = { ...clocked.ports, scheduler: { schedule: () => Promise.resolve() } };
    const approval = await runStage(stage, scheduled('died', 8_000_000), ports);
    const check = approval.emitted.find((e) => e.type === EventType.BudgetExpiry) as CloudEvent<unknown>;
    const expiry = received(check);
    if (expiry.type !== EventType.BudgetExpiry) throw new Error(expiry.type);
    // Due a second after the reservation's expiry: the run allowance twice over.
    expect(Date.parse(String(check['notbefore'])) - Date.parse(expiry.data.expiresAt)).toBe(1000);
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({ reserved: '$8.00' });
    // Delivered early (a bus that does not wait), it reclaims nothing.
    expect((await runStage(stage, check, ports)).emitted).toEqual([]);
    advance(2 * 3 * 240_000 + 1000);
    const swept = (await runStage(stage, check, ports)).emitted.map((e) => received(e));
    expect(swept.map((e) => e.type)).toEqual([EventType.JobFailed]);
    expect(swept[0]?.data).toMatchObject({ job: job('died'), stage: 'enforce-budget' });
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({ reserved: '$0.00' });
  });

  it('rejects at once when blockOnExceed has no grace period', async () => {
    const { ports } = clockedPorts([budget('team', { limit: '$1.00' })]);
    const run = await runStage(stage, scheduled('a', 5_000_000), ports);
    expect(types(run.emitted)).toEqual([EventType.BudgetExceeded, EventType.JobRejected]);
  });
});

describe('enforce-budget stage: which budget', () => {
  it('asks for budgetRef when the namespace has several budgets, and uses the one named', async () => {
    const ports = memoryPorts({ budgets: [budget('a'), budget('b')] });
    const ambiguous = received((await runStage(stage, scheduled('x', 1_000_000), ports)).emitted[0] as never);
    if (ambiguous.type !== EventType.JobRejected) throw new Error(ambiguous.type);
    expect(ambiguous.data.reason).toBe(
      'spec.budget.budgetRef: namespace default has several QiskitBudgets (a, b); name one in spec.budget.budgetRef',
    );
    const named = received(
      (await runStage(stage, scheduled('y', 1_000_000, { budget: { budgetRef: 'b' } }), ports)).emitted[0] as never,
    );
    if (named.type !== EventType.JobApproved) throw new Error(named.type);
    expect(named.data.budget?.name).toBe('b');
    const missing = received(
      (await runStage(stage, scheduled('z', 1_000_000, { budget: { budgetRef: 'c' } }), ports)).emitted[0] as never,
    );
    expect(missing.type === EventType.JobRejected && missing.data.reason).toMatch(
      /QiskitBudget default\/c does not exist/,
    );
  });

  it("never charges another namespace's budget, whatever budgetRef says", async () => {
    const ports = memoryPorts({ budgets: [budget('team'), budget('rich', {}, 'other')] });
    for (const budgetRef of ['other/rich', 'rich', '../other/rich']) {
      const run = await runStage(
        stage,
        scheduled(`j-${budgetRef.length}`, 1_000_000, { budget: { budgetRef } }),
        ports,
      );
      const rejected = received(run.emitted[0] as never);
      expect(rejected.type === EventType.JobRejected && rejected.data.reason).toMatch(
        /QiskitBudget default\/.* does not exist/,
      );
    }
    expect(await ports.ledger.list()).toEqual([]);
  });
});

describe('enforce-budget stage: deleted jobs', () => {
  const deletion = (name: string) =>
    buildEvent(
      EventType.ResourceDeleted,
      {
        apiVersion: 'quantum.io/v1',
        kind: 'QiskitJob',
        metadata: { name, namespace: 'default', uid: `uid-${name}`, generation: 1 },
        spec: {},
      },
      { source: 'https://kubernetes' },
    );

  it("keeps a deleted job's reservation until its run ends (it may be starting right now), then releases it", async () => {
    const ports = withHeldObjects(memoryPorts({ budgets: [budget('team', { limit: '$10.00' })] }), []);
    await runStage(stage, scheduled('gone', 6_000_000), ports);
    await runStage(stage, deletion('gone'), ports);
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({ reserved: '$6.00' });
    // execute refuses the deleted run; its failure gives the money back.
    const notRun = buildJobEvent(
      EventType.JobFailed,
      {
        job: job('gone'),
        stage: 'execute',
        reason: 'not run: its QiskitJob was deleted or cancelled',
        budget: { namespace: 'default', name: 'team', period: '2026-11' },
      },
      job('gone'),
      { source: '/qpipe/execute' },
    );
    await runStage(stage, notRun, ports);
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({
      reserved: '$0.00',
      remaining: '$10.00',
    });
  });
});

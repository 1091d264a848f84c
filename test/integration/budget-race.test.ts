/**
 * The race: 100 jobs whose estimates add up to 3x the limit, approved concurrently
 * through the real enforce-budget stage against each ledger implementation. A wrapper
 * checks the invariant on every write that lands: spent + reserved never exceeds the limit.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildJobEvent, parseEvent } from '../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import type { EventData, JobRef } from '../../events/schemas.ts';
import { EventType } from '../../events/types.ts';
import { stage } from '../../functions/enforce-budget/handler.ts';
import { type LedgerState, reservedMicros } from '../../shared/budget/ledger.ts';
import type { LedgerStore } from '../../shared/budget/ledger-store.ts';
import { ObjectLedgerStore } from '../../shared/budget/object-ledger-store.ts';
import { LocalObjectStore } from '../../shared/storage/local-object-store.ts';
import { S3ObjectStore } from '../../shared/storage/s3-object-store.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { runStage, type StageRun } from '../../shared/runtime/stage.ts';
import { budget } from '../support/manifests.ts';
import { MemoryLedgerStore, memoryPorts } from '../support/memory-ports.ts';
import { type S3TestServer, startS3Server } from '../support/s3-server.ts';

const LIMIT = 100_000_000; // $100.00

/** Wraps a ledger store and records the largest committed spend seen after any successful write. */
class InvariantCheckingStore implements LedgerStore {
  highest = 0;
  writes = 0;
  constructor(private readonly inner: LedgerStore) {}
  read(key: string) {
    return this.inner.read(key);
  }
  async compareAndSwap(key: string, expected: string | undefined, state: LedgerState): Promise<boolean> {
    const ok = await this.inner.compareAndSwap(key, expected, state);
    if (ok) {
      this.writes++;
      this.highest = Math.max(this.highest, state.spentMicros + reservedMicros(state));
    }
    return ok;
  }
  list() {
    return this.inner.list();
  }
}

/** Estimates in whole micro-dollars that add up to exactly 3x the limit. */
function estimates(count: number): number[] {
  let seed = 7;
  const raw = Array.from({ length: count }, () => {
    seed = (seed * 48271) % 2147483647;
    return 1 + (seed % 1000);
  });
  const total = raw.reduce((a, b) => a + b, 0);
  const scaled = raw.map((r) => Math.floor((r * 3 * LIMIT) / total));
  scaled[0] = (scaled[0] as number) + 3 * LIMIT - scaled.reduce((a, b) => a + b, 0);
  return scaled;
}

const example = parseEvent(EXAMPLE_EVENTS[EventType.JobScheduled]).data as EventData<typeof EventType.JobScheduled>;
const jobRef = (i: number): JobRef => ({ namespace: 'default', name: `job-${i}`, uid: `uid-${i}`, generation: 1 });

/**
 * Delivers an event as a broker does: again, after a pause, while the stage asks for a retry
 * (a ledger contended by 100 writers may give up on one delivery).
 */
async function deliver(event: CloudEvent<unknown>, ports: Ports): Promise<StageRun> {
  for (let delivery = 1; ; delivery++) {
    const run = await runStage(stage, event, ports);
    if (run.retry === undefined || delivery === BROKER_DELIVERIES) return run;
    await new Promise((r) => setTimeout(r, 100 * delivery));
  }
}
const BROKER_DELIVERIES = 10;

/** Job i completed at 90% of its estimate, charged to default/team. */
function completedAtNinetyPercent(i: number, micros: number): CloudEvent<unknown> {
  return buildJobEvent(
    EventType.JobCompleted,
    {
      job: jobRef(i),
      backend: 'local-simulator',
      result: { location: 'x', shots: 1, counts: {}, truncated: false },
      actualCostMicros: Math.floor(micros * 0.9),
      budget: { namespace: 'default', name: 'team', period: '2026-11' },
    },
    jobRef(i),
    { source: '/qpipe/collect-results' },
  );
}

async function race(inner: LedgerStore) {
  const store = new InvariantCheckingStore(inner);
  const ports = memoryPorts({ budgets: [budget('team', { limit: '$100.00' })] }, { ledger: store });
  const amounts = estimates(100);
  expect(amounts.reduce((a, b) => a + b, 0)).toBe(3 * LIMIT);
  const runs = await Promise.all(
    amounts.map((micros, i) =>
      deliver(
        buildJobEvent(
          EventType.JobScheduled,
          { ...example, job: jobRef(i), estimate: { totalMicros: micros, breakdown: [] } },
          jobRef(i),
          {
            source: '/qpipe/select-backend',
          },
        ),
        ports,
      ),
    ),
  );
  const outcomes = runs.map((run) =>
    run.emitted.map((e) => e.type).find((t) => t === EventType.JobApproved || t === EventType.JobRejected),
  );
  const approved = amounts.filter((_, i) => outcomes[i] === EventType.JobApproved);
  const reservedNow = reservedMicros((await store.read('default/team/2026-11')).state);

  // Settle every approved job concurrently at 90% of its estimate (each delivered twice).
  const completions: CloudEvent<unknown>[] = [];
  amounts.forEach((micros, i) => {
    if (outcomes[i] !== EventType.JobApproved) return;
    const event = completedAtNinetyPercent(i, micros);
    completions.push(event, event);
  });
  await Promise.all(completions.map((event) => deliver(event, ports)));
  const final = (await store.read('default/team/2026-11')).state;
  return { store, outcomes, approved, reservedNow, final, amounts };
}

function expectBalanced(result: Awaited<ReturnType<typeof race>>): void {
  const { store, outcomes, approved, reservedNow, final } = result;
  expect(outcomes.every((o) => o === EventType.JobApproved || o === EventType.JobRejected)).toBe(true);
  expect(approved.length).toBeGreaterThan(0);
  expect(approved.length).toBeLessThan(100);
  expect(store.highest).toBeLessThanOrEqual(LIMIT);
  expect(reservedNow).toBe(approved.reduce((a, b) => a + b, 0));
  expect(final.spentMicros).toBe(approved.reduce((a, b) => a + Math.floor(b * 0.9), 0));
  expect(reservedMicros(final)).toBe(0);
  expect(Object.keys(final.charges)).toHaveLength(approved.length);
}

describe('budget race: 100 concurrent jobs, estimates 3x the limit', () => {
  it('never overspends with the in-memory ledger', async () => {
    expectBalanced(await race(new MemoryLedgerStore()));
  });

  it('never overspends with the local-file ledger', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-race-'));
    try {
      expectBalanced(await race(new ObjectLedgerStore(new LocalObjectStore(dir))));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('S3 ledger on s3rver (412 on failed If-Match supplied by a test front, as S3 answers)', () => {
    let server: S3TestServer;
    beforeAll(async () => {
      server = await startS3Server(['ledgers']);
    });
    afterAll(async () => server.close());

    it('never overspends', async () => {
      expectBalanced(await race(new ObjectLedgerStore(new S3ObjectStore(server.client, 'ledgers'))));
      expect(server.refused()).toBeGreaterThan(0);
    });
  });

  describe('with crashes injected', () => {
    /** A store whose writes sometimes land and then "crash" before answering, as a killed process would. */
    class CrashingStore extends InvariantCheckingStore {
      crashes = 0;
      private seed = 11;
      override async compareAndSwap(key: string, expected: string | undefined, state: LedgerState): Promise<boolean> {
        const ok = await super.compareAndSwap(key, expected, state);
        this.seed = (this.seed * 48271) % 2147483647;
        if (ok && this.seed % 7 === 0) {
          this.crashes++;
          throw new Error('the process died after its write landed');
        }
        return ok;
      }
    }

    it.each([
      ['in-memory', () => Promise.resolve({ ledger: new MemoryLedgerStore(), done: () => Promise.resolve() })],
      [
        'local-file',
        async () => {
          const dir = await mkdtemp(join(tmpdir(), 'qpipe-race-'));
          return {
            ledger: new ObjectLedgerStore(new LocalObjectStore(dir)),
            done: () => rm(dir, { recursive: true, force: true }),
          };
        },
      ],
    ])(
      'never overspends and leaves nothing reserved when a third of the runs die holding reservations (%s ledger)',
      async (_name, make) => {
        const { ledger, done } = await make();
        try {
          const store = new CrashingStore(ledger);
          const base = memoryPorts({ budgets: [budget('team', { limit: '$100.00' })] }, { ledger: store });
          // Jobs admitted by a process that then dies: every other writer sees it gone.
          const gone = (id: string) => id === 'dead-run';
          const dying = { ...base, runOwner: { id: 'dead-run', gone } };
          const living = { ...base, runOwner: { id: 'living-run', gone } };
          const amounts = estimates(90);
          const scheduled = (i: number, micros: number) =>
            buildJobEvent(
              EventType.JobScheduled,
              { ...example, job: jobRef(i), estimate: { totalMicros: micros, breakdown: [] } },
              jobRef(i),
              { source: '/qpipe/select-backend' },
            );
          const runs = await Promise.all(
            amounts.map((micros, i) => deliver(scheduled(i, micros), i % 3 === 0 ? dying : living)),
          );
          const approvedLiving = amounts.filter(
            (_, i) => i % 3 !== 0 && runs[i]?.emitted.some((e) => e.type === EventType.JobApproved),
          );
          // The living runs finish; settling them is also the next write, which reclaims the dead.
          const failed = runs.flatMap((run) => run.emitted.filter((e) => e.type === EventType.JobFailed));
          const settles = await Promise.all(
            amounts.map((micros, i) =>
              i % 3 !== 0 && runs[i]?.emitted.some((e) => e.type === EventType.JobApproved)
                ? deliver(completedAtNinetyPercent(i, micros), living)
                : Promise.resolve(undefined),
            ),
          );
          failed.push(...settles.flatMap((run) => run?.emitted.filter((e) => e.type === EventType.JobFailed) ?? []));
          // One more write (a late job) sweeps whatever dead reservation is left.
          const late = await deliver(scheduled(1000, 1), living);
          failed.push(...late.emitted.filter((e) => e.type === EventType.JobFailed));

          const final = (await store.read('default/team/2026-11')).state;
          expect(store.crashes).toBeGreaterThan(0);
          expect(store.highest).toBeLessThanOrEqual(LIMIT);
          expect(Object.keys(final.reservations)).toEqual(['uid-1000/1']);
          expect(final.spentMicros).toBe(approvedLiving.reduce((a, b) => a + Math.floor(b * 0.9), 0));
          // Every dead run that held money was failed, once per run, and never admitted again.
          const deadJobs = new Set(failed.map((e) => (parseEvent(e).data as { job: JobRef }).job.uid));
          expect([...deadJobs].every((uid) => Number(uid.slice(4)) % 3 === 0)).toBe(true);
          expect(Object.keys(final.reclaimed ?? {}).sort()).toEqual([...deadJobs].map((uid) => `${uid}/1`).sort());
        } finally {
          await done();
        }
      },
    );
  });
});

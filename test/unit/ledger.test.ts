import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  crossThresholds,
  currentPeriod,
  EMPTY_LEDGER,
  release,
  reserve,
  reservedMicros,
  settle,
} from '../../shared/budget/ledger.ts';
import { type LedgerStore, updateLedger } from '../../shared/budget/ledger-store.ts';
import { ObjectLedgerStore } from '../../shared/budget/object-ledger-store.ts';
import { LocalObjectStore } from '../../shared/storage/local-object-store.ts';
import { MemoryLedgerStore } from '../support/memory-ports.ts';

describe('ledger rules', () => {
  it('reserves while spent + reserved + estimate stays within the limit', () => {
    const a = reserve(EMPTY_LEDGER, { jobKey: 'a', job: 'ns/a', micros: 6, limitMicros: 10 });
    expect(a.kind).toBe('reserved');
    const b = reserve(a.state, { jobKey: 'b', job: 'ns/b', micros: 5, limitMicros: 10 });
    expect(b).toMatchObject({ kind: 'insufficient', availableMicros: 4 });
    expect(reserve(a.state, { jobKey: 'a', job: 'ns/a', micros: 6, limitMicros: 10 }).kind).toBe('already');
  });

  it('settles the actual cost once and releases a reservation once', () => {
    const reserved = reserve(EMPTY_LEDGER, { jobKey: 'a', job: 'ns/a', micros: 6, limitMicros: 10 }).state;
    const settled = settle(reserved, { jobKey: 'a', job: 'ns/a', micros: 4 });
    expect(settled.spentMicros).toBe(4);
    expect(reservedMicros(settled)).toBe(0);
    expect(settle(settled, { jobKey: 'a', job: 'ns/a', micros: 4 })).toBe(settled);
    const other = reserve(settled, { jobKey: 'b', job: 'ns/b', micros: 3, limitMicros: 10 }).state;
    const released = release(other, 'b');
    expect(reservedMicros(released)).toBe(0);
    expect(release(released, 'b')).toBe(released);
  });

  it('reports each threshold once per period', () => {
    const spent = { ...EMPTY_LEDGER, spentMicros: 80 };
    const first = crossThresholds(spent, 100, [50, 75, 90, 100]);
    expect(first.crossed).toEqual([50, 75]);
    expect(crossThresholds(first.state, 100, [50, 75, 90, 100]).crossed).toEqual([]);
  });

  it('keys periods by the UTC calendar', () => {
    const now = new Date('2026-11-26T23:30:00-05:00'); // already Nov 27 in UTC
    expect(currentPeriod('daily', now).key).toBe('2026-11-27');
    expect(currentPeriod('monthly', now)).toEqual({ key: '2026-11', start: new Date('2026-11-01T00:00:00Z') });
    expect(currentPeriod('weekly', now).start.toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(currentPeriod('total', now).key).toBe('total');
  });
});

describe.each([
  ['in memory', async () => ({ store: new MemoryLedgerStore(), cleanup: async () => {} })],
  [
    'local files',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'qpipe-ledger-'));
      return {
        store: new ObjectLedgerStore(new LocalObjectStore(dir)),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  ],
])('compare-and-swap ledger store (%s)', (_name, make) => {
  let store: LedgerStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await make());
  });
  afterEach(async () => cleanup());

  it('refuses a write whose expected version is stale', async () => {
    const first = await store.read('b/2026-11');
    expect(await store.compareAndSwap('b/2026-11', first.version, { ...EMPTY_LEDGER, spentMicros: 1 })).toBe(true);
    expect(await store.compareAndSwap('b/2026-11', first.version, { ...EMPTY_LEDGER, spentMicros: 2 })).toBe(false);
    expect((await store.read('b/2026-11')).state.spentMicros).toBe(1);
  });

  it('never overspends when 50 reservations race, and the sums balance', async () => {
    const limit = 1_000;
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        updateLedger(store, 'race', (state) => {
          const result = reserve(state, { jobKey: `j${i}`, job: `ns/j${i}`, micros: 60, limitMicros: limit });
          return { state: result.state, result: result.kind };
        }),
      ),
    );
    const { state } = await store.read('race');
    expect(outcomes.filter((o) => o === 'reserved')).toHaveLength(16);
    expect(reservedMicros(state)).toBe(16 * 60);
    expect(reservedMicros(state)).toBeLessThanOrEqual(limit);
  });
});

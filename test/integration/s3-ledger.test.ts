/**
 * The S3 ledger against a real S3-compatible server (s3rver) started by the test. s3rver
 * does not honour If-Match, so a front in the test answers 412 as S3 does; the conflict
 * path is covered through that real HTTP exchange.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_LEDGER, reserve, reservedMicros } from '../../shared/budget/ledger.ts';
import { updateLedger } from '../../shared/budget/ledger-store.ts';
import { ObjectLedgerStore } from '../../shared/budget/object-ledger-store.ts';
import { S3ObjectStore } from '../../shared/storage/s3-object-store.ts';
import { type S3TestServer, startS3Server } from '../support/s3-server.ts';

describe('S3 ledger store on s3rver (412 on failed If-Match supplied by a test front, as S3 answers)', () => {
  let server: S3TestServer;
  beforeAll(async () => {
    server = await startS3Server(['qpipe']);
  });
  afterAll(async () => server.close());

  it('creates with If-None-Match: * and refuses a second create', async () => {
    const store = new ObjectLedgerStore(new S3ObjectStore(server.client, 'qpipe'));
    expect(await store.compareAndSwap('create/2026-11', undefined, { ...EMPTY_LEDGER, spentMicros: 1 })).toBe(true);
    expect(await store.compareAndSwap('create/2026-11', undefined, { ...EMPTY_LEDGER, spentMicros: 2 })).toBe(false);
    expect((await store.read('create/2026-11')).state.spentMicros).toBe(1);
  });

  it('swaps with If-Match on the ETag and refuses a stale one', async () => {
    const store = new ObjectLedgerStore(new S3ObjectStore(server.client, 'qpipe'));
    await store.compareAndSwap('swap/2026-11', undefined, EMPTY_LEDGER);
    const first = await store.read('swap/2026-11');
    expect(first.version).toMatch(/^"[0-9a-f]{32}"$/);
    expect(await store.compareAndSwap('swap/2026-11', first.version, { ...EMPTY_LEDGER, spentMicros: 5 })).toBe(true);
    expect(await store.compareAndSwap('swap/2026-11', first.version, { ...EMPTY_LEDGER, spentMicros: 9 })).toBe(false);
    expect((await store.read('swap/2026-11')).state.spentMicros).toBe(5);
  });

  it('never overspends when 30 reservations race over HTTP', async () => {
    const store = new ObjectLedgerStore(new S3ObjectStore(server.client, 'qpipe'));
    const before = server.refused();
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        updateLedger(store, 'race/2026-11', (state) => {
          const result = reserve(state, { jobKey: `j${i}`, job: `ns/j${i}`, micros: 100, limitMicros: 1_000 });
          return { state: result.state, result: result.kind };
        }),
      ),
    );
    expect(outcomes.filter((o) => o === 'reserved')).toHaveLength(10);
    expect(reservedMicros((await store.read('race/2026-11')).state)).toBe(1_000);
    expect(server.refused() - before).toBeGreaterThan(0);
  });

  it('stores objects, writes once with putIfAbsent, and locates them as s3:// URLs', async () => {
    const store = new S3ObjectStore(server.client, 'qpipe', 'results');
    await store.put('runs/a/result.json', '{"ok":true}', 'application/json');
    expect(Buffer.from((await store.get('runs/a/result.json')) ?? []).toString()).toBe('{"ok":true}');
    expect(await store.putIfAbsent('markers/x', 'one')).toBe(true);
    expect(await store.putIfAbsent('markers/x', 'two')).toBe(false);
    expect(await store.get('missing')).toBeUndefined();
    expect(store.locate('runs/a/result.json')).toBe('s3://qpipe/results/runs/a/result.json');
  });
});

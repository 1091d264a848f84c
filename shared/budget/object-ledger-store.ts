/**
 * Ledgers as documents in the object store: files under `.qpipe/ledgers/` on the embedded
 * default, objects under `ledgers/` of the bucket when deployed, one per budget period. The
 * store's conditional writes (a lock file locally; If-Match / If-None-Match on S3:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html) make the
 * compare-and-swap.
 */
import { Type } from '@sinclair/typebox';
import { parseDocument } from '../storage/documents.ts';
import { assertSafeKey, type ObjectStore } from '../storage/object-store.ts';
import { EMPTY_LEDGER, LedgerState } from './ledger.ts';
import type { LedgerStore, VersionedLedger } from './ledger-store.ts';

const PREFIX = 'ledgers/';

/** A ledger file of earlier versions of the embedded default: the state with a counter. */
const CountedLedger = Type.Object({ version: Type.Integer(), state: LedgerState });

/** The ledger-store port over any object store. */
export class ObjectLedgerStore implements LedgerStore {
  constructor(private readonly store: ObjectStore) {}

  private key(key: string): string {
    assertSafeKey(key);
    return `${PREFIX}${key}.json`;
  }

  async read(key: string): Promise<VersionedLedger> {
    const read = await this.store.getVersioned(this.key(key));
    if (read === undefined) return { state: EMPTY_LEDGER, version: undefined };
    const text = Buffer.from(read.body).toString('utf8');
    const where = this.store.locate(this.key(key));
    // Parsed by its own shape, so a damaged field is named where it is.
    const counted = /^\s*\{\s*"version"\s*:/.test(text);
    const state = counted ? parseDocument(CountedLedger, text, where).state : parseDocument(LedgerState, text, where);
    return { state, version: read.version };
  }

  compareAndSwap(key: string, expected: string | undefined, state: LedgerState): Promise<boolean> {
    const body = JSON.stringify(state, null, 2);
    return expected === undefined
      ? this.store.putIfAbsent(this.key(key), body, 'application/json')
      : this.store.putIfVersion(this.key(key), body, expected, 'application/json');
  }

  async list(): Promise<string[]> {
    return (await this.store.list(PREFIX))
      .filter((key) => key.endsWith('.json'))
      .map((key) => key.slice(PREFIX.length, -'.json'.length))
      .sort();
  }
}

/**
 * One contract for every object store qpipe runs on, since budgets, status, claims and audit
 * records rest on it: a create happens once, a write lands only on the version it read, and
 * concurrent updates through updateDocument lose nothing. Run against the in-memory store,
 * local files, and a real MinIO server (skipped with the reason only where it is not built).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateDocument } from '../../shared/storage/compare-and-swap.ts';
import { LocalObjectStore } from '../../shared/storage/local-object-store.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { S3ObjectStore } from '../../shared/storage/s3-object-store.ts';
import { type MinioServer, minioMissing, startMinio } from '../support/minio.ts';
import { MemoryObjectStore } from '../support/memory-ports.ts';

const Counter = Type.Object({ count: Type.Integer(), writers: Type.Array(Type.Integer()) });

function contract(name: string, open: () => ObjectStore) {
  describe(`the object-store contract: ${name}`, () => {
    it('creates once: a second putIfAbsent is refused and leaves the first', async () => {
      const store = open();
      expect(await store.putIfAbsent('contract/once', 'first')).toBe(true);
      expect(await store.putIfAbsent('contract/once', 'second')).toBe(false);
      expect(Buffer.from((await store.get('contract/once')) ?? []).toString()).toBe('first');
    });

    it('is seen whole: a reader racing a create finds nothing or all of it, never a part', async () => {
      const store = open();
      const body = 'x'.repeat(32 << 20);
      const seen = new Set<number>();
      let created = false;
      const create = store.putIfAbsent('contract/whole', body).then(() => (created = true));
      const reader = async () => {
        while (!created) seen.add((await store.get('contract/whole'))?.byteLength ?? -1);
      };
      await Promise.all([reader(), reader(), reader(), create]);
      seen.add((await store.get('contract/whole'))?.byteLength ?? -1);
      expect([...seen].filter((length) => length !== -1)).toEqual([body.length]);
    });

    it('writes only on the version it read, and refuses a stale one', async () => {
      const store = open();
      await store.put('contract/swap', 'v1');
      const read = await store.getVersioned('contract/swap');
      expect(read).toBeDefined();
      expect(await store.putIfVersion('contract/swap', 'v2', read?.version)).toBe(true);
      expect(await store.putIfVersion('contract/swap', 'v3', read?.version)).toBe(false);
      expect(await store.putIfVersion('contract/absent', 'x', read?.version)).toBe(false);
      expect(Buffer.from((await store.get('contract/swap')) ?? []).toString()).toBe('v2');
    });

    it('loses no update when 25 writers change one document at once', async () => {
      const store = open();
      await Promise.all(
        Array.from({ length: 25 }, (_, writer) =>
          updateDocument(store, 'contract/counter.json', Counter, (current) => ({
            next: { count: (current?.count ?? 0) + 1, writers: [...(current?.writers ?? []), writer] },
            result: undefined,
          })),
        ),
      );
      const final = JSON.parse(Buffer.from((await store.get('contract/counter.json')) ?? []).toString());
      expect(final.count).toBe(25);
      expect([...final.writers].sort((a: number, b: number) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    });
  });
}

contract('in memory (the unit tests’ stand-in)', () => new MemoryObjectStore());

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qpipe-contract-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));
contract(
  'local files (the embedded default; a lock file per write)',
  () => new LocalObjectStore(join(dir, crypto.randomUUID())),
);

const missing = minioMissing();
describe.skipIf(missing !== undefined)(`on MinIO${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let minio: MinioServer | undefined;
  beforeAll(async () => {
    minio = await startMinio(['contract']);
  });
  afterAll(async () => minio?.close());
  contract('MinIO (a real S3 API: If-Match and If-None-Match honoured by the server)', () => {
    if (!minio) throw new Error('MinIO did not start');
    return new S3ObjectStore(minio.client, 'contract', crypto.randomUUID());
  });
});

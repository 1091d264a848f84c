/** Stored documents are parsed as they are read back (in-memory object store). */
import { describe, expect, it } from 'vitest';
import { ObjectLedgerStore } from '../../shared/budget/object-ledger-store.ts';
import { LocalObjectStore } from '../../shared/storage/local-object-store.ts';
import { readRawResult } from '../../shared/results.ts';
import { SchemaError } from '../../shared/resources/validate.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryObjectStore } from '../support/memory-ports.ts';

describe('stored documents', () => {
  it('reads a raw result back with its type', async () => {
    const store = new MemoryObjectStore();
    const raw = { counts: { '00': 3 }, shots: 3, durationMs: 1.5, billedSeconds: 0, actualCostMicros: 0 };
    await store.put('runs/a/raw.json', JSON.stringify(raw));
    expect(await readRawResult(store, 'runs/a/raw.json')).toEqual(raw);
    expect(await readRawResult(store, 'runs/missing/raw.json')).toBeUndefined();
  });

  it('names the document and each bad field of a damaged one instead of casting it', async () => {
    const store = new MemoryObjectStore();
    await store.put('runs/a/raw.json', JSON.stringify({ counts: { '00': 'three' }, shots: -1 }));
    const error = await readRawResult(store, 'runs/a/raw.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaError);
    const problems = (error as SchemaError).problems.map((p) => p.path);
    expect(problems).toEqual(expect.arrayContaining(['counts[00]', 'shots', 'durationMs']));
    expect((error as Error).message).toContain('runs/a/raw.json');
  });

  it('refuses a document that is not JSON with its key, as a permanent error', async () => {
    const store = new MemoryObjectStore();
    await store.put('runs/a/raw.json', '{"counts":');
    const error = await readRawResult(store, 'runs/a/raw.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(/runs\/a\/raw\.json.*is not JSON/);
  });

  it('parses a ledger file (the ledger on local files) and names a damaged one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-doc-'));
    try {
      const ledgers = new ObjectLedgerStore(new LocalObjectStore(dir));
      expect((await ledgers.read('default/team/2026-11')).state.spentMicros).toBe(0);
      await mkdir(join(dir, 'ledgers', 'default', 'team'), { recursive: true });
      await writeFile(
        join(dir, 'ledgers', 'default', 'team', '2026-11.json'),
        JSON.stringify({ version: 1, state: { spentMicros: 'lots' } }),
      );
      const error = await ledgers.read('default/team/2026-11').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SchemaError);
      expect((error as SchemaError).problems.map((p) => p.path)).toContain('state.spentMicros');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

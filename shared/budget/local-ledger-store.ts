/**
 * Ledgers as JSON files, for the embedded default. Compare-and-swap holds an exclusive
 * lock file (O_EXCL) while it checks the version and renames the new file into place, so
 * it is safe for concurrent jobs in one process and across processes on one machine.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { tryLock, unlock } from '../storage/file-lock.ts';
import { assertSafeKey } from '../storage/object-store.ts';
import { type Static, Type } from '@sinclair/typebox';
import { parseDocument } from '../storage/documents.ts';
import { EMPTY_LEDGER, LedgerState } from './ledger.ts';
import type { LedgerStore, VersionedLedger } from './ledger-store.ts';

const LedgerFile = Type.Object({ version: Type.Integer({ minimum: 0 }), state: LedgerState });
type LedgerFile = Static<typeof LedgerFile>;

/** Local-file ledger store rooted at a folder. */
export class LocalLedgerStore implements LedgerStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private path(key: string): string {
    assertSafeKey(key);
    return `${join(this.root, ...key.split('/'))}.json`;
  }

  async read(key: string): Promise<VersionedLedger> {
    const file = await this.load(this.path(key));
    return file ? { state: file.state, version: String(file.version) } : { state: EMPTY_LEDGER, version: undefined };
  }

  async compareAndSwap(key: string, expected: string | undefined, state: LedgerState): Promise<boolean> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const lock = `${path}.lock`;
    // Contended: report a failed swap; updateLedger re-reads and retries.
    if (!(await tryLock(lock))) return false;
    try {
      const current = await this.load(path);
      const currentVersion = current ? String(current.version) : undefined;
      if (currentVersion !== expected) return false;
      const next: LedgerFile = { version: (current?.version ?? 0) + 1, state };
      const temporary = `${path}.${process.pid}.${crypto.randomUUID()}.tmp`;
      await writeFile(temporary, JSON.stringify(next, null, 2));
      await rename(temporary, path);
      return true;
    } finally {
      await unlock(lock);
    }
  }

  async list(): Promise<string[]> {
    const entries = await readdir(this.root, { recursive: true }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [] as string[];
      throw error;
    });
    return entries
      .filter((entry) => entry.endsWith('.json') && !entry.endsWith('.tmp'))
      .map((entry) => entry.slice(0, -'.json'.length).split(sep).join('/'))
      .sort();
  }

  private async load(path: string): Promise<LedgerFile | undefined> {
    try {
      return parseDocument(LedgerFile, await readFile(path, 'utf8'), path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}

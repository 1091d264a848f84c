/** The object store of the embedded default: files in a local folder. */
import { link, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { tryLock, unlock } from './file-lock.ts';
import { assertSafeKey, contentVersion, type ObjectStore } from './object-store.ts';

/** Objects as files under `root`; writes are atomic (temporary file, then rename). */
export class LocalObjectStore implements ObjectStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private path(key: string): string {
    assertSafeKey(key);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, body: string | Uint8Array): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.${crypto.randomUUID()}.tmp`;
    await writeFile(temporary, body);
    await rename(temporary, path);
  }

  async putIfAbsent(key: string, body: string | Uint8Array): Promise<boolean> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    // Written whole beside it, then linked into place: link fails if the name exists, so
    // exactly one writer wins across processes too, and no reader (nor a process killed
    // half way) ever sees a file without its content.
    const temporary = `${path}.${process.pid}.${crypto.randomUUID()}.tmp`;
    await writeFile(temporary, body);
    try {
      await link(temporary, path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await rm(temporary, { force: true });
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async getVersioned(key: string): Promise<{ body: Uint8Array; version: string } | undefined> {
    const body = await this.get(key);
    return body === undefined ? undefined : { body, version: contentVersion(body) };
  }

  async putIfVersion(key: string, body: string | Uint8Array, version: string | undefined): Promise<boolean> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    // A lock file (O_EXCL) makes check-and-write one step across processes.
    const lock = `${path}.lock`;
    if (!(await tryLock(lock))) return false;
    try {
      const current = await this.get(key);
      const currentVersion = current === undefined ? undefined : contentVersion(current);
      if (currentVersion !== version) return false;
      await this.put(key, body);
      return true;
    } finally {
      await unlock(lock);
    }
  }

  async list(prefix: string, limit = Number.POSITIVE_INFINITY): Promise<string[]> {
    // The folder holding the prefix; keys are then filtered by the whole prefix.
    const folder = join(this.root, ...prefix.split('/').slice(0, -1));
    const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    });
    return entries
      .filter((entry) => entry.isFile() && !entry.name.endsWith('.tmp'))
      .map((entry) => relative(this.root, join(entry.parentPath, entry.name)).split(sep).join('/'))
      .filter((key) => key.startsWith(prefix))
      .sort()
      .slice(0, limit);
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  locate(key: string): string {
    return this.path(key);
  }
}

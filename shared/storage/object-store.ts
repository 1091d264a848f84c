/** The object-store port: circuits, raw results and result documents, by key. */
import { createHash } from 'node:crypto';

/** Stores bytes under keys such as `results/default/bell/<uid>-1/result.json`. */
export interface ObjectStore {
  /** Writes (or overwrites) an object. */
  put(key: string, body: string | Uint8Array, contentType?: string): Promise<void>;
  /** Writes only when no object has the key; returns whether it wrote. */
  putIfAbsent(key: string, body: string | Uint8Array, contentType?: string): Promise<boolean>;
  /** Reads an object with its version (an ETag), for a later putIfVersion; undefined when there is none. */
  getVersioned(key: string): Promise<{ readonly body: Uint8Array; readonly version: string } | undefined>;
  /**
   * Writes only if the object is still at `version` (or, for undefined, still absent):
   * compare-and-swap for documents several containers update. Returns whether it wrote.
   */
  putIfVersion(
    key: string,
    body: string | Uint8Array,
    version: string | undefined,
    contentType?: string,
  ): Promise<boolean>;
  /** Reads an object, or undefined when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys under a prefix (`scheduled/`), in ascending order, at most `limit` of them. */
  list(prefix: string, limit?: number): Promise<string[]>;
  /** Removes an object; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** A location a person can follow (a file path or an s3:// URL). */
  locate(key: string): string;
}

/** Reads an object as UTF-8 text. */
export async function getText(store: ObjectStore, key: string): Promise<string | undefined> {
  const bytes = await store.get(key);
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

/** Reads and parses a JSON object. */
export async function getJson(store: ObjectStore, key: string): Promise<unknown> {
  const text = await getText(store, key);
  return text === undefined ? undefined : JSON.parse(text);
}

/** Keys are slash-separated; no part may be empty, ".", or "..". */
export function assertSafeKey(key: string): void {
  const parts = key.split('/');
  if (key.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`unsafe object key "${key}"`);
  }
}

/** A version for stores without ETags: the content's hash. */
export function contentVersion(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

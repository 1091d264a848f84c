/**
 * Documents qpipe stored itself (results, task records, ledgers, session records, status),
 * parsed as they are read back: a document written by another version, or damaged, is
 * named with its key and bad fields instead of being cast to a type it no longer has.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { InvalidInputError } from '../errors.ts';
import { checkSchema } from '../resources/validate.ts';
import { getText, type ObjectStore } from './object-store.ts';

/** Parses a document's JSON text against its schema; `where` names it in errors. */
export function parseDocument<S extends TSchema>(schema: S, text: string, where: string): Static<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`stored document ${where}`, `is not JSON (${(error as Error).message})`);
  }
  return checkSchema(schema, value, `stored document ${where}`);
}

/** Reads and parses a stored document, or undefined when there is none. */
export async function readDocument<S extends TSchema>(
  store: ObjectStore,
  key: string,
  schema: S,
): Promise<Static<S> | undefined> {
  const text = await getText(store, key);
  return text === undefined ? undefined : parseDocument(schema, text, store.locate(key));
}

/** Reads and parses a stored document with the version a compare-and-swap of it must match. */
export async function readVersionedDocument<S extends TSchema>(
  store: ObjectStore,
  key: string,
  schema: S,
): Promise<{ readonly document: Static<S> | undefined; readonly version: string | undefined }> {
  const read = await store.getVersioned(key);
  if (read === undefined) return { document: undefined, version: undefined };
  return {
    document: parseDocument(schema, Buffer.from(read.body).toString('utf8'), store.locate(key)),
    version: read.version,
  };
}

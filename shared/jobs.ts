/** Small facts about jobs shared by several stages. */
import { createHash } from 'node:crypto';
import type { CircuitRef, JobRef } from '../events/schemas.ts';
import { InvalidInputError } from './errors.ts';
import { DEFAULT_SHOTS } from './limits.ts';
import type { QiskitJobSpec } from './resources/schema.ts';
import { assertSafeKey, getText, type ObjectStore } from './storage/object-store.ts';
import { keySegment } from './storage/key-segment.ts';

/** The ledger and idempotency key of one run of a job. */
export function jobKey(job: JobRef): string {
  return `${job.uid}/${job.generation}`;
}

/** `<namespace>/<name>`, as people refer to a job. */
export function jobLabel(job: Pick<JobRef, 'namespace' | 'name'>): string {
  return `${job.namespace}/${job.name}`;
}

/** Shots the job asks for. */
export function jobShots(spec: QiskitJobSpec): number {
  return spec.execution?.shots ?? DEFAULT_SHOTS;
}

/**
 * Where the result document of a run goes: its run folder, or the job's output.path under
 * `outputs/<namespace>/`, so no job writes over another namespace's results or qpipe's own
 * state. validate asks it first, so a job whose results could not be written never runs.
 */
export function resultKey(job: JobRef, spec: Pick<QiskitJobSpec, 'output'>): string {
  const path = spec.output?.path;
  const base = path ? `outputs/${keySegment(job.namespace)}/${path.replace(/^\/+|\/+$/g, '')}` : runFolder(job);
  const key = `${base}/result`;
  try {
    assertSafeKey(key);
  } catch {
    throw new InvalidInputError('spec.output.path', `"${String(path)}" is not a safe relative path`);
  }
  return key;
}

/** Object-store folder of one run's results. */
export function runFolder(job: JobRef): string {
  return `runs/${keySegment(job.namespace)}/${keySegment(job.name)}/${keySegment(`${job.uid}-${job.generation}`)}`;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Where a large circuit is kept: under its namespace and the SHA-256 of its exact text, so
 * two different programs, or two namespaces, never share an object.
 */
export function circuitObjectKey(namespace: string, code: string): string {
  return `circuits/${keySegment(namespace)}/${sha256(code)}.qasm`;
}

/** The circuit source a CircuitRef points at, inline or by reference; a stored one must be the text its key names. */
export async function loadCircuitSource(circuit: CircuitRef, store: ObjectStore): Promise<string> {
  if (circuit.code !== undefined) return circuit.code;
  if (circuit.ref === undefined) throw new InvalidInputError('circuit', 'carries neither code nor a reference');
  const text = await getText(store, circuit.ref);
  if (text === undefined)
    throw new InvalidInputError('circuit.ref', `object "${circuit.ref}" is missing from the store`);
  const named = /\/([0-9a-f]{64})\.qasm$/.exec(circuit.ref)?.[1];
  if (named !== sha256(text)) {
    throw new InvalidInputError('circuit.ref', `object "${circuit.ref}" does not hold the circuit its key names`);
  }
  return text;
}

/**
 * Circuits compiled once per process: select-backend (translating for providers), execute
 * and collect-results (the ideal to compare a device's counts with) each need the unrolled
 * circuit of the same job; in one process (`qpipe run`, `qpipe serve`, a warm Lambda) they
 * share it. Keyed by the source and the limits; the least recently used circuits go first,
 * and the cache holds at most a bounded number of unrolled gates.
 */
import { createHash } from 'node:crypto';
import { type CompileOptions, type CompiledCircuit, compileQasm } from './index.ts';

/** Unrolled gates the cache keeps at most (about 100 MB at 512 bytes a gate). */
const MAX_CACHED_GATES = 200_000;

const cache = new Map<string, CompiledCircuit>();
let cachedGates = 0;

/** compileQasm, reusing the result of an earlier call with the same source and options in this process. */
export function compileQasmCached(source: string, options: CompileOptions = {}): CompiledCircuit {
  const key = createHash('sha256').update(JSON.stringify(options)).update('\0').update(source).digest('hex');
  const hit = cache.get(key);
  if (hit) {
    // Most recently used last: a Map iterates in insertion order.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const compiled = compileQasm(source, options);
  const gates = compiled.circuit.primitiveCount;
  if (gates <= MAX_CACHED_GATES) {
    cache.set(key, compiled);
    cachedGates += gates;
    for (const [oldest, entry] of cache) {
      if (cachedGates <= MAX_CACHED_GATES) break;
      cache.delete(oldest);
      cachedGates -= entry.circuit.primitiveCount;
    }
  }
  return compiled;
}

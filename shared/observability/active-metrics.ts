/**
 * The metrics as recorders see them: present once a runtime that exposes them (qpipe
 * serve, Knative stages, Lambda) has loaded them, absent in one-shot CLI runs, where
 * nothing would read them and prom-client would add ~100 ms to every start.
 */
import type { metrics as Definitions } from './metrics.ts';

let loaded: typeof Definitions | undefined;

/** The metrics, or undefined when no runtime exposes them. */
export function activeMetrics(): typeof Definitions | undefined {
  return loaded;
}

/** Loads the metrics, once; runtimes that expose them call this before handling events. */
export async function loadMetrics(): Promise<typeof Definitions> {
  loaded ??= (await import('./metrics.ts')).metrics;
  return loaded;
}

/**
 * The metrics, loaded only by runtimes that expose them (qpipe serve, Knative stages,
 * Lambda), which hand them to their ports; one-shot CLI runs never load them, as nothing
 * would read them and prom-client would add ~100 ms to every start.
 */
import type { metrics as Definitions } from './metrics.ts';

let loaded: typeof Definitions | undefined;

/** Loads the metrics, once; runtimes that expose them call this before handling events. */
export async function loadMetrics(): Promise<typeof Definitions> {
  loaded ??= (await import('./metrics.ts')).metrics;
  return loaded;
}

/**
 * The timer: what a periodic tick does (a Knative PingSource POSTs one a minute to
 * `qpipe serve --stage timer`). It releases the scheduled events that are due (store
 * scheduler), and resyncs: every job in an enabled namespace that has stalled is requested
 * again, at most once per resync period, so nothing an at-most-once source dropped is lost.
 */
import type { CloudEvent } from 'cloudevents';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { isStalled, JOBS_NAMESPACE_ENABLED, JOBS_NAMESPACE_LABEL } from '../cluster/resync.ts';
import { userManifestOf } from '../resources/kubernetes-object.ts';
import type { StoreScheduler } from '../scheduler/store-scheduler.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { keySegment } from '../storage/key-segment.ts';

/** The source of events the timer publishes. */
export const TIMER_SOURCE = '/qpipe/timer';

/** What a resync reads of the cluster. */
export interface ResyncCluster {
  listJobObjects(): Promise<Record<string, unknown>[]>;
  namespaceLabels(name: string): Promise<Record<string, string> | undefined>;
}

/** Options of the timer. */
export interface TimerOptions {
  readonly scheduler: StoreScheduler;
  readonly store: ObjectStore;
  readonly publish: (events: CloudEvent<unknown>[]) => Promise<void>;
  readonly now: () => Date;
  /** Absent where there is no Kubernetes to resync from. */
  readonly resync?: { readonly cluster: ResyncCluster; readonly afterMs: number };
}

/** What one tick did. */
export interface TickReport {
  readonly released: number;
  readonly requested: string[];
}

interface JobMetadata {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly generation?: number;
}

/** Requests again every stalled job of an enabled namespace not requested within the period. */
async function resync(options: TimerOptions, cluster: ResyncCluster, afterMs: number): Promise<string[]> {
  const now = options.now().getTime();
  const enabled = new Map<string, boolean>();
  const requested: string[] = [];
  for (const object of await cluster.listJobObjects()) {
    const metadata = (object['metadata'] ?? {}) as JobMetadata;
    const namespace = metadata.namespace ?? 'default';
    if (!enabled.has(namespace)) {
      const labels = await cluster.namespaceLabels(namespace);
      enabled.set(namespace, labels?.[JOBS_NAMESPACE_LABEL] === JOBS_NAMESPACE_ENABLED);
    }
    if (!enabled.get(namespace) || !isStalled(object, now, afterMs) || metadata.uid === undefined) continue;
    // One request per job run and resync period, however often the timer ticks.
    const marker = `resync/${keySegment(`${metadata.uid}-${metadata.generation ?? 1}`)}-${Math.floor(now / afterMs)}`;
    if (!(await options.store.putIfAbsent(marker, String(now), 'text/plain'))) continue;
    const job = userManifestOf({ apiVersion: 'quantum.io/v1', kind: 'QiskitJob', ...object });
    await options.publish([
      buildEvent(
        EventType.JobRequested,
        { job },
        {
          source: TIMER_SOURCE,
          subject: `${namespace}/${metadata.name ?? ''}`,
          jobuid: metadata.uid,
          jobgeneration: metadata.generation ?? 1,
        },
      ),
    ]);
    requested.push(`${namespace}/${metadata.name ?? ''}`);
  }
  return requested;
}

/** One tick: release what is due, then resync. */
export async function tick(options: TimerOptions): Promise<TickReport> {
  const released = await options.scheduler.releaseDue(options.now().getTime(), options.publish);
  const requested = options.resync ? await resync(options, options.resync.cluster, options.resync.afterMs) : [];
  return { released, requested };
}

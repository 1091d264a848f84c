/**
 * The timer: what a periodic tick does (a Knative PingSource POSTs one a minute to
 * `qpipe serve --stage timer`). It releases the scheduled events that are due (store
 * scheduler), and resyncs: every job in an enabled namespace that has stalled is requested
 * again, at most once per resync period, so nothing an at-most-once source dropped is lost.
 * It also exports every budget's figures from the QiskitBudgets' status at each tick: the
 * timer runs all the time, while the stages that write budgets scale to zero and take their
 * gauges with them, which the BudgetExceeded alert cannot live with.
 */
import type { CloudEvent } from 'cloudevents';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { isStalled, JOBS_NAMESPACE_ENABLED, JOBS_NAMESPACE_LABEL } from '../cluster/resync.ts';
import { userManifestOf } from '../resources/kubernetes-object.ts';
import type { StoreScheduler } from '../scheduler/store-scheduler.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { keySegment } from '../storage/key-segment.ts';
import { currentPeriod } from '../budget/ledger.ts';
import type { BudgetPeriod } from '../resources/schema.ts';
import { parseMoney } from '../money.ts';
import { recordBudget } from '../observability/job-metrics.ts';
import type { Metrics } from '../observability/metrics.ts';

/** The source of events the timer publishes. */
export const TIMER_SOURCE = '/qpipe/timer';

/** What the budget gauges read of the cluster. */
export interface BudgetCluster {
  listResourceObjects(plural: 'qiskitbudgets'): Promise<Record<string, unknown>[]>;
}

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
  /** Absent where there is no Kubernetes to read budgets from, or no metrics. */
  readonly budgetGauges?: { readonly cluster: BudgetCluster; readonly metrics: Metrics };
}

/** What one tick did. */
export interface TickReport {
  readonly released: number;
  readonly requested: string[];
  /** Budgets whose gauges it set. */
  readonly budgets: number;
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

interface BudgetObject {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly spec?: { readonly limit?: string; readonly period?: BudgetPeriod };
  readonly status?: { readonly spent?: string; readonly reserved?: string; readonly periodStart?: string };
}

/**
 * Sets each budget's gauges from what enforce-budget last wrote to its status; a status of
 * an earlier period counts as nothing spent yet. A budget it cannot read is left out.
 */
async function exportBudgets(now: Date, cluster: BudgetCluster, metrics: Metrics): Promise<number> {
  let exported = 0;
  for (const object of (await cluster.listResourceObjects('qiskitbudgets')) as BudgetObject[]) {
    const { name, namespace = 'default' } = object.metadata ?? {};
    const { limit, period } = object.spec ?? {};
    if (!name || !limit || !period) continue;
    try {
      const current = object.status?.periodStart
        ? Date.parse(object.status.periodStart) >= currentPeriod(period, now).start.getTime()
        : false;
      const money = (text: string | undefined) => (current && text ? parseMoney(text) : 0);
      recordBudget(metrics, namespace, name, {
        spent: money(object.status?.spent),
        reserved: money(object.status?.reserved),
        limit: parseMoney(limit),
      });
      exported++;
    } catch {
      // Not a valid budget: validation says so where it is used.
    }
  }
  return exported;
}

/** One tick: release what is due, resync, and export the budgets' figures. */
export async function tick(options: TimerOptions): Promise<TickReport> {
  const released = await options.scheduler.releaseDue(options.now().getTime(), options.publish);
  const requested = options.resync ? await resync(options, options.resync.cluster, options.resync.afterMs) : [];
  const budgets = options.budgetGauges
    ? await exportBudgets(options.now(), options.budgetGauges.cluster, options.budgetGauges.metrics)
    : 0;
  return { released, requested, budgets };
}

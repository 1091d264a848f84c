/** The ports a stage handler may use, injected by whichever runtime deploys it. */
import type { LedgerStore } from '../budget/ledger-store.ts';
import type { BackendExecutor } from '../backends/backend.ts';
import type { Cluster } from '../cluster/cluster.ts';
import type { QpipeConfig } from '../config.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { BackendType } from '../resources/schema.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { DeviceStatusCache } from '../backends/device-status.ts';
import type { RecentEvents } from '../idempotency/recent-events.ts';
import type { Logger } from 'pino';
import type { RunOwner } from './run-owner.ts';
import type { RunningWork } from './running-work.ts';
import type { Metrics } from '../observability/metrics.ts';

/**
 * All ports; each handler takes the subset it needs. Each runtime builds them in one
 * place (createLocalPorts, createDeployedPorts, and tests' memoryPorts), once per process.
 */
export interface Ports {
  readonly config: QpipeConfig;
  readonly store: ObjectStore;
  readonly cluster: Cluster;
  readonly ledger: LedgerStore;
  /** Executors by backend type; a type without one is not available in this deployment. */
  readonly executors: Partial<Record<BackendType, BackendExecutor>>;
  readonly mailer: Mailer;
  /** The current time; tests freeze it. */
  readonly now: () => Date;
  /** Aborted when the runtime's time limit for the event being handled passes (per call, not per process). */
  readonly signal?: AbortSignal;
  /** Where events whose `notbefore` is still ahead go; absent, the bus itself honours `notbefore`. */
  readonly scheduler?: Scheduler;
  /** Where stages log (the process's logger, as the runtime configured it). */
  readonly log: Logger;
  /** Job runs this process works on, so a deleted job's simulation stops at once. */
  readonly running?: RunningWork;
  /** The one process whose jobs these are (`qpipe run`): its reservations are reclaimed once it is gone. */
  readonly runOwner?: RunOwner;
  /** The metrics this runtime exposes; absent in one-shot CLI runs, where nothing reads them. */
  readonly metrics?: Metrics;
  /** Device status readings, reused across events: providers throttle status calls. */
  readonly deviceStatus: DeviceStatusCache;
  /** Events this process handled recently, so a redelivery counts as a duplicate. */
  readonly recentEvents: RecentEvents;
  /** Fetches circuits by URL; absent where the deployment does not allow it. */
  readonly fetchCircuit?: (url: string, maxBytes: number) => Promise<string>;
}

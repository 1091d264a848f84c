/**
 * The embedded default's cluster: resources loaded from manifest files, status kept as
 * JSON files in the store folder (so `qpipe status` can read it later).
 */
import type { JobRef } from '../../events/schemas.ts';
import {
  type QiskitBackend,
  type QiskitBudget,
  QiskitBudgetStatus,
  QiskitJobStatus,
  type QiskitSession,
  QiskitSessionStatus,
} from '../resources/schema.ts';
import { keySegment } from '../storage/key-segment.ts';
import { type Static, Type } from '@sinclair/typebox';
import { type DocumentChange, updateDocument } from '../storage/compare-and-swap.ts';
import { readDocument } from '../storage/documents.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { Cluster, StatusChange } from './cluster.ts';

/** A ConfigMap as read from a manifest file. */
export const ConfigMapData = Type.Object({
  namespace: Type.String(),
  name: Type.String(),
  data: Type.Readonly(Type.Record(Type.String(), Type.String())),
});
export type ConfigMapData = Static<typeof ConfigMapData>;

/** Resources the local cluster serves. */
export interface LocalResources {
  readonly budgets: readonly QiskitBudget[];
  readonly backends: readonly QiskitBackend[];
  readonly sessions?: readonly QiskitSession[];
  readonly configMaps: readonly ConfigMapData[];
}

/**
 * Status of one job object (one uid): two jobs of the same name, in one file or in two runs
 * at once, never share it.
 */
export function jobStatusKey(uid: string): string {
  return `status/jobs/${keySegment(uid)}.json`;
}

/** The status of the latest job object of a name: what `qpipe status <namespace>/<name>` shows. */
export function jobNameKey(namespace: string, name: string): string {
  return `status/qiskitjobs/${keySegment(namespace)}/${keySegment(name)}.json`;
}

/** Status file of a budget in the store. */
export function budgetStatusKey(namespace: string, name: string): string {
  return `status/qiskitbudgets/${keySegment(namespace)}/${keySegment(name)}.json`;
}

/** A QiskitSession's status: its phase and provider session id. */
export function sessionStatusKey(namespace: string, name: string): string {
  return `status/qiskitsessions/${keySegment(namespace)}/${keySegment(name)}.json`;
}

/** A job's status file: the status, and the object it belongs to (keys are hashes of long names). */
export const StoredJobStatus = Type.Object({
  uid: Type.String(),
  // Records written by earlier versions carry only the uid and the status.
  namespace: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  status: QiskitJobStatus,
});
export type StoredJobStatus = Static<typeof StoredJobStatus>;

/**
 * The latest run of the job of that name whose status the store keeps (a job published as an
 * event), or undefined: what `qpipe cancel <name>` cancels.
 */
export async function latestRunOf(store: ObjectStore, namespace: string, name: string): Promise<JobRef | undefined> {
  const stored = await readDocument(store, jobNameKey(namespace, name), StoredJobStatus);
  if (!stored) return undefined;
  return { namespace, name, uid: stored.uid, generation: stored.status.observedGeneration ?? 1 };
}

/** Attempts of a status write that keeps losing to other writers before it is retried as a whole. */
const MAX_STATUS_ATTEMPTS = 50;

/** In-process cluster over loaded manifests and a status folder. */
export class LocalCluster implements Cluster {
  // Status writes of one job are serialised in this process.
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Resources as loaded from files, or a reader of them (the store's, cached, on AWS). */
  private readonly resources: () => Promise<LocalResources>;

  constructor(
    resources: LocalResources | (() => Promise<LocalResources>),
    private readonly store: ObjectStore,
  ) {
    this.resources = typeof resources === 'function' ? resources : () => Promise.resolve(resources);
  }

  async findBudget(namespace: string, name: string): Promise<QiskitBudget | undefined> {
    return (await this.listBudgets(namespace)).find((b) => b.metadata.name === name);
  }

  async listBudgets(namespace: string): Promise<QiskitBudget[]> {
    return (await this.resources()).budgets.filter((b) => (b.metadata.namespace ?? 'default') === namespace);
  }

  async listBackends(): Promise<QiskitBackend[]> {
    return [...(await this.resources()).backends];
  }

  /** No API server stands behind files or the store: nothing an API-server event says can be confirmed. */
  findObject(): Promise<'unverifiable'> {
    return Promise.resolve('unverifiable');
  }

  async findSession(namespace: string, name: string): Promise<QiskitSession | undefined> {
    return (await this.resources()).sessions?.find(
      (s) => (s.metadata.namespace ?? 'default') === namespace && s.metadata.name === name,
    );
  }

  async writeSessionStatus(namespace: string, name: string, status: QiskitSessionStatus): Promise<void> {
    await this.store.put(sessionStatusKey(namespace, name), JSON.stringify(status, null, 2), 'application/json');
  }

  async readSessionStatus(namespace: string, name: string): Promise<QiskitSessionStatus | undefined> {
    return readDocument(this.store, sessionStatusKey(namespace, name), QiskitSessionStatus);
  }

  async readConfigMapKey(namespace: string, name: string, key: string): Promise<string | undefined> {
    const data = (await this.resources()).configMaps.find((c) => c.namespace === namespace && c.name === name)?.data;
    // Own keys only: a key such as __proto__ names no entry, not the object's prototype.
    return data !== undefined && Object.hasOwn(data, key) ? data[key] : undefined;
  }

  async updateJobStatus(job: JobRef, change: StatusChange): Promise<QiskitJobStatus | undefined> {
    const key = jobStatusKey(job.uid);
    const previous = this.queues.get(key) ?? Promise.resolve();
    // Serialised in this process, and compare-and-swap against other processes (Lambda
    // containers, pods): a write based on a stale read loses and is recomputed.
    const next = previous.then(async () => {
      const { status, record } = await updateDocument(
        this.store,
        key,
        StoredJobStatus,
        (
          stored,
        ): DocumentChange<StoredJobStatus, { status: QiskitJobStatus | undefined; record?: StoredJobStatus }> => {
          const updated = change(stored?.status);
          if (updated === undefined) return { next: undefined, result: { status: stored?.status } };
          const written: StoredJobStatus = { uid: job.uid, namespace: job.namespace, name: job.name, status: updated };
          return { next: written, result: { status: updated, record: written } };
        },
        { maxAttempts: MAX_STATUS_ATTEMPTS },
      );
      // The name's copy follows whichever object of that name changed last.
      if (record)
        await this.store.put(jobNameKey(job.namespace, job.name), JSON.stringify(record, null, 2), 'application/json');
      return status;
    });
    this.queues.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }

  async readJobStatus(namespace: string, name: string, uid?: string): Promise<QiskitJobStatus | undefined> {
    const key = uid === undefined ? jobNameKey(namespace, name) : jobStatusKey(uid);
    return (await readDocument(this.store, key, StoredJobStatus))?.status;
  }

  async writeBudgetStatus(namespace: string, name: string, status: QiskitBudgetStatus): Promise<void> {
    await this.store.put(budgetStatusKey(namespace, name), JSON.stringify(status, null, 2), 'application/json');
  }

  async readBudgetStatus(namespace: string, name: string): Promise<QiskitBudgetStatus | undefined> {
    return readDocument(this.store, budgetStatusKey(namespace, name), QiskitBudgetStatus);
  }
}

/**
 * The cluster port on Kubernetes (@kubernetes/client-node): reads QiskitBudgets,
 * QiskitBackends and ConfigMaps, and writes only the `status` subresource of QiskitJobs and
 * QiskitBudgets (JSON merge patches), plus a core/v1 Event on the job for each transition.
 * A job's status patch carries the resourceVersion it was computed from, so a concurrent
 * writer makes the API server answer 409 Conflict and the change is recomputed.
 */
import {
  ApiException,
  type CoreV1Api,
  type CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { JobRef } from '../../events/schemas.ts';
import { QpipeError } from '../errors.ts';
import { type Static, Type } from '@sinclair/typebox';
import {
  API_VERSION,
  GROUP,
  type QiskitBackend,
  type QiskitBudget,
  type QiskitBudgetStatus,
  type QiskitSession,
  type QiskitSessionStatus,
  QiskitJobStatus,
  VERSION,
} from '../resources/schema.ts';
import { checkSchema, parseResourceOf } from '../resources/validate.ts';
import { logger } from '../observability/log.ts';
import { isRecord } from '../records.ts';
import type { CheckedKind, Cluster, HeldObject, StatusChange, StatusWriter } from './cluster.ts';
import { objectIdentity } from '../resources/kubernetes-object.ts';

const KINDS = { qiskitbudgets: 'QiskitBudget', qiskitbackends: 'QiskitBackend' } as const;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * A QiskitJob as this port reads it: identity and status only. Its spec is validate's to
 * judge (a job with a bad spec still gets its Rejected status written).
 */
const JobObject = Type.Object({
  metadata: Type.Object({ uid: Type.String(), resourceVersion: Type.Optional(Type.String()) }),
  status: Type.Optional(QiskitJobStatus),
});
type JobObject = Static<typeof JobObject>;

function codeOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** A JSON merge patch turning `current` into `next`: changed keys set, vanished keys nulled. */
export function statusPatch(
  current: Record<string, unknown> | undefined,
  next: Record<string, unknown>,
): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...next };
  for (const key of Object.keys(current ?? {})) if (!(key in next)) patch[key] = null;
  return patch;
}

/** Options of the Kubernetes cluster adapter. */
export interface KubernetesClusterOptions {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  /** Attempts of a status write that keeps meeting 409 Conflict. */
  readonly maxAttempts?: number;
  /**
   * Where the status of jobs with no QiskitJob object goes: jobs published directly (a CI
   * pipeline's `qpipe submit`) have none, and their status lives in the shared store.
   */
  readonly withoutObject?: Pick<StatusWriter, 'updateJobStatus' | 'readJobStatus'>;
  readonly now?: () => Date;
}

/**
 * The items of a list that parse as their kind (list items may omit apiVersion and kind).
 * The API server checked them against the CRD; one that still fails (a CRD older than this
 * qpipe) is left out and logged, so it does not take every other resource down with it.
 */
function parsedItems<K extends 'QiskitBudget' | 'QiskitBackend'>(kind: K, items: readonly unknown[]) {
  return items.flatMap((item) => {
    try {
      return [parseResourceOf(kind, { apiVersion: API_VERSION, kind, ...(item as object) }, `a listed ${kind}`)];
    } catch (error) {
      logger().warn({ kind, err: (error as Error).message }, 'left out a resource that does not parse');
      return [];
    }
  });
}

/** Cluster port backed by the Kubernetes API. */
export class KubernetesCluster implements Cluster {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly maxAttempts: number;
  private readonly now: () => Date;
  private readonly withoutObject: KubernetesClusterOptions['withoutObject'];

  constructor(options: KubernetesClusterOptions) {
    this.withoutObject = options.withoutObject;
    this.custom = options.custom;
    this.core = options.core;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.now = options.now ?? (() => new Date());
  }

  private async get(plural: string, namespace: string, name: string): Promise<unknown> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural,
        name,
      })) as unknown;
    } catch (error) {
      if (codeOf(error) === 404) return undefined;
      throw this.transient(error, `reading ${plural} ${namespace}/${name}`);
    }
  }

  private async getJob(namespace: string, name: string): Promise<JobObject | undefined> {
    const object = await this.get('qiskitjobs', namespace, name);
    return object === undefined ? undefined : checkSchema(JobObject, object, `qiskitjob ${namespace}/${name}`);
  }

  private transient(error: unknown, what: string): QpipeError {
    const code = codeOf(error);
    return new QpipeError(`Kubernetes API error ${code ?? ''} ${what}: ${(error as Error).message}`, {
      retryable: code === undefined || code >= 500 || code === 429 || code === 409,
      cause: error,
    });
  }

  async findBudget(namespace: string, name: string): Promise<QiskitBudget | undefined> {
    const object = await this.get('qiskitbudgets', namespace, name);
    return object === undefined
      ? undefined
      : parseResourceOf('QiskitBudget', object, `qiskitbudget ${namespace}/${name}`);
  }

  async listBudgets(namespace: string): Promise<QiskitBudget[]> {
    const items = await this.listItems(`qiskitbudgets in ${namespace}`, () =>
      this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'qiskitbudgets' }),
    );
    return parsedItems('QiskitBudget', items);
  }

  async listBackends(): Promise<QiskitBackend[]> {
    return parsedItems('QiskitBackend', await this.listAll('qiskitbackends'));
  }

  /** Every object of a kind, in all namespaces. */
  private listAll(plural: string): Promise<unknown[]> {
    return this.listItems(plural, () =>
      this.custom.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural }),
    );
  }

  private async listItems(what: string, list: () => Promise<unknown>): Promise<unknown[]> {
    try {
      const { items } = (await list()) as { items: unknown[] };
      return items;
    } catch (error) {
      throw this.transient(error, `listing ${what}`);
    }
  }

  /** Every QiskitJob of the cluster as the API serves it (status included), for the timer's resync. */
  async listJobObjects(): Promise<Record<string, unknown>[]> {
    return (await this.listAll('qiskitjobs')).filter(isRecord);
  }

  /** Every budget or backend of the cluster as the API serves it, for the EKS bridge. */
  async listResourceObjects(plural: 'qiskitbudgets' | 'qiskitbackends'): Promise<Record<string, unknown>[]> {
    const items = (await this.listAll(plural)).filter(isRecord);
    return items.map((item) => ({ apiVersion: API_VERSION, kind: KINDS[plural], ...item }));
  }

  /** A namespace's labels, or undefined when it does not exist. */
  async namespaceLabels(name: string): Promise<Record<string, string> | undefined> {
    try {
      return (await this.core.readNamespace({ name })).metadata?.labels ?? {};
    } catch (error) {
      if (codeOf(error) === 404) return undefined;
      throw this.transient(error, `reading namespace ${name}`);
    }
  }

  async readConfigMapKey(namespace: string, name: string, key: string): Promise<string | undefined> {
    try {
      const data = (await this.core.readNamespacedConfigMap({ namespace, name })).data;
      // Own keys only: a key such as __proto__ names no entry, not the object's prototype.
      return data !== undefined && Object.hasOwn(data, key) ? data[key] : undefined;
    } catch (error) {
      if (codeOf(error) === 404) return undefined;
      throw this.transient(error, `reading ConfigMap ${namespace}/${name}`);
    }
  }

  async updateJobStatus(job: JobRef, change: StatusChange): Promise<QiskitJobStatus | undefined> {
    for (let attempt = 1; ; attempt++) {
      const object = await this.getJob(job.namespace, job.name);
      if (!object && this.withoutObject) return this.withoutObject.updateJobStatus(job, change);
      // Deleted, or replaced by a new object of the same name: this run's status has nowhere to go.
      if (!object || object.metadata.uid !== job.uid) return undefined;
      const current = object.status;
      const next = change(current);
      if (next === undefined) return current;
      try {
        await this.custom.patchNamespacedCustomObjectStatus(
          {
            group: GROUP,
            version: VERSION,
            namespace: job.namespace,
            plural: 'qiskitjobs',
            name: job.name,
            body: {
              metadata: { resourceVersion: object.metadata.resourceVersion },
              status: statusPatch(current, next),
            },
          },
          mergePatch,
        );
      } catch (error) {
        if (codeOf(error) === 409 && attempt < this.maxAttempts) continue;
        throw this.transient(error, `patching the status of qiskitjob ${job.namespace}/${job.name}`);
      }
      if (next.phase !== current?.phase) await this.recordEvent(job, object, next);
      return next;
    }
  }

  private async recordEvent(job: JobRef, object: JobObject, status: QiskitJobStatus): Promise<void> {
    const time = this.now().toISOString();
    const phase = status.phase ?? 'Pending';
    const warning = phase === 'Failed' || phase === 'Rejected';
    try {
      await this.core.createNamespacedEvent({
        namespace: job.namespace,
        body: {
          // One event per run and phase: a duplicate create is refused with 409, not repeated.
          metadata: {
            name: `${job.name}.${job.uid.slice(0, 8)}.${job.generation}.${phase.toLowerCase()}`,
            namespace: job.namespace,
          },
          involvedObject: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'QiskitJob',
            name: job.name,
            namespace: job.namespace,
            uid: job.uid,
            ...(object.metadata.resourceVersion === undefined
              ? {}
              : { resourceVersion: object.metadata.resourceVersion }),
          },
          reason: phase,
          message: status.message ?? phase,
          type: warning ? 'Warning' : 'Normal',
          source: { component: 'qpipe' },
          firstTimestamp: new Date(time),
          lastTimestamp: new Date(time),
          count: 1,
        },
      });
    } catch (error) {
      if (codeOf(error) !== 409)
        throw this.transient(error, `recording an event on qiskitjob ${job.namespace}/${job.name}`);
    }
  }

  async readJobStatus(namespace: string, name: string, uid?: string): Promise<QiskitJobStatus | undefined> {
    const object = await this.getJob(namespace, name);
    if (!object || (uid !== undefined && object.metadata.uid !== uid))
      return this.withoutObject?.readJobStatus(namespace, name, uid);
    return object.status;
  }

  async writeBudgetStatus(namespace: string, name: string, status: QiskitBudgetStatus): Promise<void> {
    await this.patchStatus('qiskitbudgets', namespace, name, status);
  }

  async readBudgetStatus(namespace: string, name: string): Promise<QiskitBudgetStatus | undefined> {
    return (await this.findBudget(namespace, name))?.status;
  }

  async findObject(kind: CheckedKind, namespace: string, name: string): Promise<HeldObject | undefined> {
    const object = await this.get(`${kind.toLowerCase()}s`, namespace, name);
    const metadata = objectIdentity({ kind, ...(object as object) })?.metadata;
    if (metadata?.uid === undefined) return undefined;
    return {
      uid: metadata.uid,
      generation: metadata.generation ?? 0,
      ...(metadata.annotations ? { annotations: metadata.annotations } : {}),
      spec: (object as { spec?: unknown }).spec,
    };
  }

  async findSession(namespace: string, name: string): Promise<QiskitSession | undefined> {
    const object = await this.get('qiskitsessions', namespace, name);
    return object === undefined
      ? undefined
      : parseResourceOf('QiskitSession', object, `qiskitsession ${namespace}/${name}`);
  }

  async writeSessionStatus(namespace: string, name: string, status: QiskitSessionStatus): Promise<void> {
    await this.patchStatus('qiskitsessions', namespace, name, status);
  }

  /** Merge-patches the status of a budget or session; one deleted meanwhile has nothing to update. */
  private async patchStatus(plural: string, namespace: string, name: string, status: object): Promise<void> {
    try {
      await this.custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace, plural, name, body: { status } },
        mergePatch,
      );
    } catch (error) {
      if (codeOf(error) === 404) return;
      throw this.transient(error, `patching the status of ${plural} ${namespace}/${name}`);
    }
  }

  async readSessionStatus(namespace: string, name: string): Promise<QiskitSessionStatus | undefined> {
    return (await this.findSession(namespace, name))?.status;
  }
}

/**
 * The EKS bridge (`qpipe bridge`): kubectl on a cluster whose pipeline runs on AWS. Each
 * pass, for the namespaces enabled with the qpipe.io/jobs label:
 * - a QiskitJob whose generation was never requested is put on the bus as
 *   `io.quantum.job.requested` (source /qpipe/bridge), once per generation, and only marked
 *   as requested once the bus took it;
 * - QiskitBudgets and QiskitBackends are copied to the store the Lambdas read (`qpipe apply`'s
 *   layout), when they changed;
 * - each job's status, which collect-results keeps in the store, is written back to the
 *   QiskitJob's status subresource, so `kubectl get qiskitjobs` and `kubectl wait` work.
 * Passes are idempotent; the bridge polls rather than watches, so nothing is lost while it
 * is down, only delayed.
 */
import type { CloudEvent } from 'cloudevents';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { JOBS_NAMESPACE_ENABLED, JOBS_NAMESPACE_LABEL } from '../cluster/resync.ts';
import { jobStatusKey, StoredJobStatus } from '../cluster/local-cluster.ts';
import { readDocument } from '../storage/documents.ts';
import { generationObserved, userManifestOf } from '../resources/kubernetes-object.ts';
import { applyResources } from '../resources/resource-store.ts';
import { canonicalJson } from '../canonical-json.ts';
import { requesterOf } from '../audit.ts';
import { type QiskitBackend, type QiskitBudget, QiskitJobStatus, TERMINAL_PHASES } from '../resources/schema.ts';
import { checkSchema, parseResource } from '../resources/validate.ts';
import { getJson, type ObjectStore } from '../storage/object-store.ts';
import type { StatusChange } from '../cluster/cluster.ts';
import type { JobRef } from '../../events/schemas.ts';

/** The source of the events the bridge publishes. */
export const BRIDGE_SOURCE = '/qpipe/bridge';

/** What the bridge reads and writes of the cluster. */
export interface BridgeCluster {
  listJobObjects(): Promise<Record<string, unknown>[]>;
  listResourceObjects(plural: 'qiskitbudgets' | 'qiskitbackends'): Promise<Record<string, unknown>[]>;
  namespaceLabels(name: string): Promise<Record<string, string> | undefined>;
  updateJobStatus(job: JobRef, change: StatusChange): Promise<QiskitJobStatus | undefined>;
}

/** Options of one pass. */
export interface BridgeOptions {
  readonly cluster: BridgeCluster;
  readonly store: ObjectStore;
  readonly publish: (events: CloudEvent<unknown>[]) => Promise<void>;
}

/** What a pass did. */
export interface BridgeReport {
  readonly requested: string[];
  readonly resources: number;
  readonly statusWritten: string[];
}

interface Metadata {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly generation?: number;
}

/** One pass of the bridge. */
export async function bridgePass(options: BridgeOptions): Promise<BridgeReport> {
  const enabled = new Map<string, boolean>();
  const isEnabled = async (namespace: string) => {
    if (!enabled.has(namespace)) {
      const labels = await options.cluster.namespaceLabels(namespace);
      enabled.set(namespace, labels?.[JOBS_NAMESPACE_LABEL] === JOBS_NAMESPACE_ENABLED);
    }
    return enabled.get(namespace) === true;
  };

  // Budgets and backends, as the Lambdas read them; an invalid one is left out (kubectl's
  // CRD validation already refused most).
  const budgets: QiskitBudget[] = [];
  const backends: QiskitBackend[] = [];
  for (const plural of ['qiskitbudgets', 'qiskitbackends'] as const) {
    for (const object of await options.cluster.listResourceObjects(plural)) {
      const namespace = ((object['metadata'] ?? {}) as Metadata).namespace ?? 'default';
      if (!(await isEnabled(namespace))) continue;
      try {
        const resource = parseResource(userManifestOf(object), `${plural} ${namespace}`);
        if (resource.kind === 'QiskitBudget') budgets.push(resource);
        else if (resource.kind === 'QiskitBackend') backends.push(resource);
      } catch {
        // Not copied: the stages would refuse it too.
      }
    }
  }
  const resources = await syncResources(options.store, budgets, backends);

  const requested: string[] = [];
  const statusWritten: string[] = [];
  for (const object of await options.cluster.listJobObjects()) {
    const metadata = (object['metadata'] ?? {}) as Metadata;
    const namespace = metadata.namespace ?? 'default';
    const name = metadata.name ?? '';
    if (metadata.uid === undefined || !(await isEnabled(namespace))) continue;
    const job: JobRef = { namespace, name, uid: metadata.uid, generation: metadata.generation ?? 1 };
    // Requested once per generation, however many passes see it: published first, marked after,
    // so a failed publish is tried again next pass (a crash in between only sends a duplicate,
    // which the pipeline recognises by uid and generation).
    const marker = `bridge/requested/${job.uid}-${job.generation}`;
    if ((await options.store.get(marker)) === undefined) {
      await options.publish([
        buildEvent(
          EventType.JobRequested,
          { job: userManifestOf({ apiVersion: 'quantum.io/v1', kind: 'QiskitJob', ...object }) },
          { source: BRIDGE_SOURCE, subject: `${namespace}/${name}`, jobuid: job.uid, jobgeneration: job.generation },
        ),
      ]);
      await options.store.put(marker, new Date().toISOString(), 'text/plain');
      requested.push(`${namespace}/${name}`);
    }
    const current =
      object['status'] === undefined
        ? undefined
        : checkSchema(QiskitJobStatus, object['status'], `qiskitjob ${namespace}/${name}`, 'status');
    // A final status of this generation never changes again: no read of the store for it.
    if (current?.phase && TERMINAL_PHASES.includes(current.phase) && generationObserved(object)) continue;
    const stored = await readDocument(options.store, jobStatusKey(job.uid), StoredJobStatus);
    if (!stored) continue;
    if (canonicalJson(stored.status) === canonicalJson(current)) continue;
    const status = stored.status;
    await options.cluster.updateJobStatus(job, () => status);
    statusWritten.push(`${namespace}/${name}`);
  }
  return { requested, resources, statusWritten };
}

/** Copies the resources to the store when they differ from what it holds. */
async function syncResources(store: ObjectStore, budgets: QiskitBudget[], backends: QiskitBackend[]): Promise<number> {
  const fingerprint = JSON.stringify({ budgets, backends });
  const key = 'bridge/resources.json';
  if ((await getJson(store, key)) === fingerprint) return 0;
  // Who changed each is the user the cluster stamped at admission (infra/admission).
  await applyResources(store, { budgets, backends, configMaps: [] }, (resource) => requesterOf(resource.metadata));
  await store.put(key, JSON.stringify(fingerprint), 'application/json');
  return budgets.length + backends.length;
}

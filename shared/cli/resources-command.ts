/**
 * `qpipe apply` and `qpipe get`: resources for deployments without Kubernetes (AWS), kept in
 * the deployment's store (S3 when QPIPE_S3_BUCKET is set, else the local store folder).
 */
import type { QpipeConfig } from '../config.ts';
import { StoredJobStatus } from '../cluster/local-cluster.ts';
import { backendRefusals } from '../backends/visibility.ts';
import { InvalidInputError } from '../errors.ts';
import { loadManifests } from '../manifests.ts';
import { type Applier, applyResources, readResources } from '../resources/resource-store.ts';
import { hostname, userInfo } from 'node:os';
import { createDeployedPorts } from '../runtime/deployed-ports.ts';
import { readDocument } from '../storage/documents.ts';

const NO_RESOURCES = { budgets: [], backends: [], configMaps: [] };

/** Validates every document of the files and stores the budgets, backends and ConfigMaps; nothing is written if any is bad. */
export async function applyFiles(files: readonly string[], config: QpipeConfig): Promise<string[]> {
  const manifests = await loadManifests(files);
  const [error] = [...manifests.errors, ...backendRefusals(manifests.backends, config)];
  if (error) throw error;
  if (manifests.jobs.length > 0) {
    throw new InvalidInputError(
      String(manifests.jobs[0]?.file),
      'holds QiskitJob documents: jobs are submitted (qpipe submit), not applied',
    );
  }
  const { store } = await createDeployedPorts(config, NO_RESOURCES);
  return applyResources(store, manifests, localApplier('qpipe apply'));
}

/**
 * Who applies resources from this machine, for the audit trail: the local user. (On AWS the
 * bucket's CloudTrail data events name the IAM principal of the same write.)
 */
export function localApplier(command: string): Applier {
  const who = `${userInfo().username}@${hostname()}`;
  return () => `${who} (${command})`;
}

/** One row of `qpipe get`. */
export interface ResourceRow {
  readonly namespace: string;
  readonly name: string;
  readonly [column: string]: string | number | undefined;
}

/** What `qpipe get` lists: budgets (with spending), backends, sessions (phase and provider id), or jobs (from their status). */
export async function getResources(kind: string, config: QpipeConfig): Promise<ResourceRow[]> {
  const ports = await createDeployedPorts(config, NO_RESOURCES);
  switch (kind) {
    case 'budgets':
    case 'qiskitbudgets': {
      const { budgets } = await readResources(ports.store);
      return Promise.all(
        budgets.map(async (b) => {
          const namespace = b.metadata.namespace ?? 'default';
          const status = await ports.cluster.readBudgetStatus(namespace, b.metadata.name);
          return {
            namespace,
            name: b.metadata.name,
            spent: status?.spent ?? '$0.00',
            limit: b.spec.limit,
            period: b.spec.period,
          };
        }),
      );
    }
    case 'backends':
    case 'qiskitbackends': {
      const { backends } = await readResources(ports.store);
      return backends.map((b) => ({
        namespace: b.metadata.namespace ?? 'default',
        name: b.metadata.name,
        provider: b.spec.provider,
      }));
    }
    case 'sessions':
    case 'qiskitsessions': {
      const { sessions = [] } = await readResources(ports.store);
      return Promise.all(
        sessions.map(async (session) => {
          const namespace = session.metadata.namespace ?? 'default';
          const status = await ports.cluster.readSessionStatus(namespace, session.metadata.name);
          return {
            namespace,
            name: session.metadata.name,
            backend: session.spec.backend.name,
            phase: status?.phase ?? 'Pending',
            session: status?.sessionId,
            closes: status?.closesAt,
          };
        }),
      );
    }
    case 'jobs':
    case 'qiskitjobs': {
      const keys = await ports.store.list('status/qiskitjobs/');
      const rows: ResourceRow[] = [];
      for (const key of keys) {
        const record = await readDocument(ports.store, key, StoredJobStatus);
        if (record?.namespace === undefined || record.name === undefined) continue;
        rows.push({
          namespace: record.namespace,
          name: record.name,
          phase: record.status.phase ?? 'Pending',
          backend: record.status.selectedBackend,
          cost: record.status.actualCost,
        });
      }
      return rows;
    }
    default:
      throw new InvalidInputError(
        'get',
        `"${kind}" is not a kind qpipe stores; choose budgets, backends, sessions or jobs`,
      );
  }
}

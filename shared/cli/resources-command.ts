/**
 * `qpipe apply` and `qpipe get`: resources for deployments without Kubernetes (AWS), kept in
 * the deployment's store (S3 when QPIPE_S3_BUCKET is set, else the local store folder).
 */
import type { QpipeConfig } from '../config.ts';
import { jobNameKey, jobStatusKey, StoredJobStatus } from '../cluster/local-cluster.ts';
import { backendRefusals } from '../backends/visibility.ts';
import { InvalidInputError } from '../errors.ts';
import { loadManifests } from '../manifests.ts';
import {
  type Applier,
  applyResources,
  deleteResource,
  readResources,
  type StoredKind,
} from '../resources/resource-store.ts';
import { GROUP, RESOURCES, TERMINAL_PHASES, VERSION } from '../resources/schema.ts';
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

/** The kinds the store keeps, by the plural `qpipe get` lists them under. */
export type StoredKindName = 'budgets' | 'backends' | 'sessions' | 'jobs';

const KINDS: Readonly<Record<StoredKindName, (typeof RESOURCES)[keyof typeof RESOURCES]>> = {
  budgets: RESOURCES.QiskitBudget,
  backends: RESOURCES.QiskitBackend,
  sessions: RESOURCES.QiskitSession,
  jobs: RESOURCES.QiskitJob,
};

/** The kind a word names, as kubectl takes it: plural, singular, short name, or qpipe's short plural (budgets). */
export function resolveKind(word: string): StoredKindName | undefined {
  const lower = word.toLowerCase().replace(/\.quantum\.io$/, '');
  return (Object.keys(KINDS) as StoredKindName[]).find((name) => {
    const resource = KINDS[name];
    return [name, name.replace(/s$/, ''), resource.plural, resource.singular, ...resource.shortNames].includes(lower);
  });
}

/** A stored object as kubectl would print it with -o json|yaml: manifest and status. */
export interface StoredObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly namespace: string; readonly name: string };
  readonly spec?: unknown;
  readonly status?: Record<string, unknown>;
}

/** `-o name`'s form: qiskitbudget.quantum.io/demo. */
export const objectName = (kind: StoredKindName, name: string) => `${KINDS[kind].singular}.${GROUP}/${name}`;

/**
 * The stored objects of a kind with their status: budgets (with spending), backends, sessions,
 * jobs (their latest run); in one namespace, or the one object of a name, when asked (a job's
 * status is then read by its key, not found among every job's).
 */
export async function listObjects(
  kind: StoredKindName,
  config: QpipeConfig,
  where: { readonly namespace?: string; readonly name?: string } = {},
): Promise<StoredObject[]> {
  const wanted = (o: StoredObject) =>
    (where.namespace === undefined || o.metadata.namespace === where.namespace) &&
    (where.name === undefined || o.metadata.name === where.name);
  return (await storedObjects(kind, config, where)).filter(wanted);
}

async function storedObjects(
  kind: StoredKindName,
  config: QpipeConfig,
  where: { readonly namespace?: string; readonly name?: string },
): Promise<StoredObject[]> {
  const ports = await createDeployedPorts(config, NO_RESOURCES);
  const object = (resource: { metadata: { namespace?: string; name: string }; spec?: unknown }, status?: object) => ({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KINDS[kind].kind,
    metadata: { namespace: resource.metadata.namespace ?? 'default', name: resource.metadata.name },
    ...(resource.spec === undefined ? {} : { spec: resource.spec }),
    ...(status === undefined ? {} : { status: status as Record<string, unknown> }),
  });
  switch (kind) {
    case 'budgets': {
      const { budgets } = await readResources(ports.store);
      return Promise.all(
        budgets.map(async (b) =>
          object(b, await ports.cluster.readBudgetStatus(b.metadata.namespace ?? 'default', b.metadata.name)),
        ),
      );
    }
    case 'backends':
      return (await readResources(ports.store)).backends.map((b) => object(b));
    case 'sessions': {
      const { sessions = [] } = await readResources(ports.store);
      return Promise.all(
        sessions.map(async (session) =>
          object(
            session,
            await ports.cluster.readSessionStatus(session.metadata.namespace ?? 'default', session.metadata.name),
          ),
        ),
      );
    }
    case 'jobs': {
      const objects: StoredObject[] = [];
      const keys =
        where.namespace !== undefined && where.name !== undefined
          ? [jobNameKey(where.namespace, where.name)]
          : await ports.store.list('status/qiskitjobs/');
      for (const key of keys) {
        const record = await readDocument(ports.store, key, StoredJobStatus);
        if (record?.namespace === undefined || record.name === undefined) continue;
        objects.push(
          object(
            { metadata: { namespace: record.namespace, name: record.name } },
            { ...record.status, uid: record.uid },
          ),
        );
      }
      return objects;
    }
  }
}

/** The columns `qpipe get` prints for an object (more with wide), as the CRD's printer columns name them. */
export function columnsOf(kind: StoredKindName, object: StoredObject, wide: boolean): Record<string, string> {
  const spec = (object.spec ?? {}) as Record<string, unknown>;
  const status = object.status ?? {};
  const text = (value: unknown) =>
    typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
  switch (kind) {
    case 'budgets':
      return {
        spent: text(status['spent'] ?? '$0.00'),
        limit: text(spec['limit']),
        period: text(spec['period']),
        ...(wide
          ? { reserved: text(status['reserved']), remaining: text(status['remaining']), phase: text(status['phase']) }
          : {}),
      };
    case 'backends':
      return {
        provider: text(spec['provider']),
        ...(wide ? { qubits: text(spec['qubits']), device: text(spec['deviceArn'] ?? spec['deviceName']) } : {}),
      };
    case 'sessions':
      return {
        backend: text((spec['backend'] as { name?: string } | undefined)?.name),
        phase: text(status['phase'] ?? 'Pending'),
        ...(wide ? { session: text(status['sessionId']), closes: text(status['closesAt']) } : {}),
      };
    case 'jobs':
      return {
        phase: text(status['phase'] ?? 'Pending'),
        backend: text(status['selectedBackend']),
        cost: text(status['actualCost']),
        ...(wide ? { estimated: text(status['estimatedCost']), message: text(status['message']) } : {}),
      };
  }
}

/** Deletes a stored object (a job: its status records); returns whether there was one. */
export async function deleteObject(
  kind: StoredKindName,
  namespace: string,
  name: string,
  config: QpipeConfig,
): Promise<boolean> {
  const { store } = await createDeployedPorts(config, NO_RESOURCES);
  if (kind !== 'jobs') return deleteResource(store, KINDS[kind].plural as StoredKind, namespace, name);
  const key = jobNameKey(namespace, name);
  const record = await readDocument(store, key, StoredJobStatus);
  if (!record) return false;
  // Its status is all the store holds of a job: deleting it would stop nothing and hide what runs.
  const phase = record.status.phase ?? 'Pending';
  if (!TERMINAL_PHASES.includes(phase)) {
    throw new InvalidInputError(
      `${namespace}/${name}`,
      `is ${phase}: cancel it first (qpipe cancel ${name} -n ${namespace} --to URL | --bus NAME); deleting its status would not stop it or release its money`,
    );
  }
  await store.delete(jobStatusKey(record.uid));
  await store.delete(key);
  return true;
}

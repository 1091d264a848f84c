/**
 * The qpipe resources a backup holds, as manifests without status or server-set metadata:
 * read from and applied to the Kubernetes API, or read from manifest files on the embedded
 * default (which has no cluster to restore into).
 */
import { ApiException, type CustomObjectsApi } from '@kubernetes/client-node';
import { QpipeError } from '../errors.ts';
import { readResources } from '../resources/resource-store.ts';
import { GROUP, VERSION } from '../resources/schema.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** The kinds a backup holds, with their plural resource names. */
export const BACKUP_KINDS = {
  QiskitJob: 'qiskitjobs',
  QiskitBudget: 'qiskitbudgets',
  QiskitBackend: 'qiskitbackends',
  QiskitSession: 'qiskitsessions',
} as const;
export type BackupKind = keyof typeof BACKUP_KINDS;

/** A resource as a backup keeps it. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: BackupKind;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly spec: unknown;
}

const SERVER_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration'];

/** The manifest of an object: spec, name, namespace, labels and annotations; no status, uid or versions. */
export function toManifest(object: Record<string, unknown>): Manifest {
  const metadata = (object['metadata'] ?? {}) as Record<string, unknown>;
  const annotations = Object.fromEntries(
    Object.entries((metadata['annotations'] ?? {}) as Record<string, string>).filter(
      ([k]) => !SERVER_ANNOTATIONS.includes(k),
    ),
  );
  const labels = (metadata['labels'] ?? {}) as Record<string, string>;
  return {
    apiVersion: typeof object['apiVersion'] === 'string' ? object['apiVersion'] : `${GROUP}/${VERSION}`,
    kind: object['kind'] as BackupKind,
    metadata: {
      name: String(metadata['name']),
      ...(typeof metadata['namespace'] === 'string' ? { namespace: metadata['namespace'] } : {}),
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: object['spec'],
  };
}

/** Where a backup's resources are read from. */
export interface ResourceSource {
  list(kind: BackupKind): Promise<Manifest[]>;
}

/** Where resources are read from and restored to. */
export interface ResourceRepository extends ResourceSource {
  /** Creates the resource, or replaces its spec when it exists. */
  apply(manifest: Manifest): Promise<'created' | 'replaced'>;
}

/** The Kubernetes API as a resource repository. */
export class KubernetesResources implements ResourceRepository {
  constructor(private readonly custom: CustomObjectsApi) {}

  async list(kind: BackupKind): Promise<Manifest[]> {
    const list = (await this.custom.listCustomObjectForAllNamespaces({
      group: GROUP,
      version: VERSION,
      plural: BACKUP_KINDS[kind],
    })) as { items: Record<string, unknown>[] };
    return list.items.map((item) => toManifest({ kind, ...item }));
  }

  async apply(manifest: Manifest): Promise<'created' | 'replaced'> {
    const target = {
      group: GROUP,
      version: VERSION,
      namespace: manifest.metadata.namespace ?? 'default',
      plural: BACKUP_KINDS[manifest.kind],
    };
    try {
      await this.custom.createNamespacedCustomObject({ ...target, body: manifest });
      return 'created';
    } catch (error) {
      if (!(error instanceof ApiException) || error.code !== 409) {
        throw new QpipeError(`restoring ${manifest.kind} ${manifest.metadata.name}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    const current = (await this.custom.getNamespacedCustomObject({ ...target, name: manifest.metadata.name })) as {
      metadata?: { resourceVersion?: string };
    };
    await this.custom.replaceNamespacedCustomObject({
      ...target,
      name: manifest.metadata.name,
      body: { ...manifest, metadata: { ...manifest.metadata, resourceVersion: current.metadata?.resourceVersion } },
    });
    return 'replaced';
  }
}

/** Manifests from files (the embedded default, which has no cluster to restore into). */
export class FileResources implements ResourceSource {
  constructor(private readonly manifests: readonly Record<string, unknown>[]) {}

  list(kind: BackupKind): Promise<Manifest[]> {
    return Promise.resolve(this.manifests.filter((m) => m['kind'] === kind).map(toManifest));
  }
}

/** The resources `qpipe apply` keeps in the store: the bucket's `resources/` on AWS. */
export class StoredResources implements ResourceSource {
  private stored: Promise<Record<string, unknown>[]> | undefined;

  constructor(private readonly store: ObjectStore) {}

  async list(kind: BackupKind): Promise<Manifest[]> {
    this.stored ??= readResources(this.store).then(({ budgets, backends, sessions }) =>
      [...budgets, ...backends, ...(sessions ?? [])].map((resource) => resource as unknown as Record<string, unknown>),
    );
    return (await this.stored).filter((m) => m['kind'] === kind).map(toManifest);
  }
}

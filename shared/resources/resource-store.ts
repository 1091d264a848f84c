/**
 * Resources kept in the object store, for deployments without Kubernetes (AWS): `qpipe
 * apply` writes validated QiskitBudget, QiskitBackend and QiskitSession documents and
 * ConfigMaps as `resources/<kind>/<namespace>/<name>.json`; the stages read them through a
 * cache that refreshes after a while, so a raised limit is seen within that time.
 */
import { ConfigMapData, type LocalResources } from '../cluster/local-cluster.ts';
import type { ManifestSet } from '../manifests.ts';
import { getJson, getText, type ObjectStore } from '../storage/object-store.ts';
import type { QiskitBackend, QiskitBudget, QiskitSession } from './schema.ts';
import { checkSchema, parseResource } from './validate.ts';
import { recordResourceChange } from '../resource-audit.ts';
import { canonicalJson } from '../canonical-json.ts';

const PREFIX = 'resources/';
/** Rewritten after every apply or delete: readers reload when it changed. */
const MARKER = 'resources-changed';
export type StoredKind = 'qiskitbudgets' | 'qiskitbackends' | 'qiskitsessions' | 'configmaps';

function keyOf(kind: StoredKind, namespace: string, name: string): string {
  return `${PREFIX}${kind}/${namespace}/${name}.json`;
}

/** What `apply` wrote, as `<kind>/<namespace>/<name>`. */
export type Applied = string[];

/** Who applies resources, for the audit record of each budget and backend they change. */
export type Applier = (resource: QiskitBudget | QiskitBackend) => string;

/**
 * Writes the budgets, backends, sessions and ConfigMaps of a manifest set (already validated
 * by loadManifests); a budget or backend whose spec it changes is recorded in the audit trail.
 */
export async function applyResources(
  store: ObjectStore,
  manifests: Pick<ManifestSet, 'budgets' | 'backends' | 'configMaps'> & Partial<Pick<ManifestSet, 'sessions'>>,
  appliedBy: Applier,
): Promise<Applied> {
  const written: Applied = [];
  const write = async (kind: StoredKind, namespace: string, name: string, document: unknown) => {
    await store.put(keyOf(kind, namespace, name), JSON.stringify(document, null, 2), 'application/json');
    written.push(`${kind}/${namespace}/${name}`);
  };
  const writeAudited = async (kind: 'qiskitbudgets' | 'qiskitbackends', resource: QiskitBudget | QiskitBackend) => {
    const { status: _status, ...document } = resource;
    const namespace = resource.metadata.namespace ?? 'default';
    const before = (await getJson(store, keyOf(kind, namespace, resource.metadata.name))) as
      { spec?: unknown } | undefined;
    await write(kind, namespace, resource.metadata.name, document);
    if (before !== undefined && canonicalJson(before.spec) === canonicalJson(resource.spec)) return;
    await recordResourceChange(store, {
      kind: resource.kind,
      namespace,
      name: resource.metadata.name,
      change: before === undefined ? 'created' : 'changed',
      at: new Date().toISOString(),
      by: appliedBy(resource),
      spec: resource.spec,
    });
  };
  for (const budget of manifests.budgets) await writeAudited('qiskitbudgets', budget);
  for (const backend of manifests.backends) await writeAudited('qiskitbackends', backend);
  for (const session of manifests.sessions ?? []) {
    const { status: _status, ...document } = session;
    await write('qiskitsessions', session.metadata.namespace ?? 'default', session.metadata.name, document);
  }
  for (const configMap of manifests.configMaps) {
    await write('configmaps', configMap.namespace, configMap.name, configMap);
  }
  // Nothing applied, nothing written: a CI principal submitting jobs only may not write resources.
  if (written.length > 0) await markChanged(store);
  return written;
}

/** Removes a stored resource; returns whether there was one. */
export async function deleteResource(store: ObjectStore, kind: StoredKind, namespace: string, name: string) {
  const key = keyOf(kind, namespace, name);
  const existed = (await store.get(key)) !== undefined;
  await store.delete(key);
  await markChanged(store);
  return existed;
}

async function markChanged(store: ObjectStore): Promise<void> {
  await store.put(MARKER, crypto.randomUUID(), 'text/plain');
}

/** Reads every stored resource, parsing each with the same schema as a manifest. */
export async function readResources(store: ObjectStore): Promise<LocalResources> {
  const keys = await store.list(PREFIX);
  const budgets: QiskitBudget[] = [];
  const backends: QiskitBackend[] = [];
  const sessions: QiskitSession[] = [];
  const configMaps: ConfigMapData[] = [];
  for (const key of keys) {
    const document = await getJson(store, key);
    if (document === undefined) continue;
    if (key.startsWith(`${PREFIX}configmaps/`)) {
      configMaps.push(checkSchema(ConfigMapData, document, `stored document ${store.locate(key)}`));
      continue;
    }
    const resource = parseResource(document, key);
    if (resource.kind === 'QiskitBudget') budgets.push(resource);
    else if (resource.kind === 'QiskitBackend') backends.push(resource);
    else if (resource.kind === 'QiskitSession') sessions.push(resource);
  }
  return { budgets, backends, sessions, configMaps };
}

/** Stored resources, reloaded when `qpipe apply` changed them (its marker), else reused. */
export function cachedResources(store: ObjectStore): () => Promise<LocalResources> {
  let cached: { marker: string | undefined; resources: Promise<LocalResources> } | undefined;
  return async () => {
    const marker = await getText(store, MARKER);
    if (!cached || cached.marker !== marker) {
      const resources = readResources(store);
      cached = { marker, resources };
      // A failed read is not kept: the next call tries again.
      resources.catch(() => (cached = undefined));
    }
    return cached.resources;
  };
}

/**
 * Resources given as files together with those the store keeps: a file's version of a
 * resource wins over the stored one of the same kind, namespace and name.
 */
export function withStored(files: LocalResources, stored: LocalResources): LocalResources {
  const key = (r: { metadata: { namespace?: string; name: string } }) =>
    `${r.metadata.namespace ?? 'default'}/${r.metadata.name}`;
  const merge = <T extends { metadata: { namespace?: string; name: string } }>(a: readonly T[], b: readonly T[]) => {
    const given = new Set(a.map(key));
    return [...a, ...b.filter((r) => !given.has(key(r)))];
  };
  const given = new Set(files.configMaps.map((c) => `${c.namespace}/${c.name}`));
  return {
    budgets: merge(files.budgets, stored.budgets),
    backends: merge(files.backends, stored.backends),
    sessions: merge(files.sessions ?? [], stored.sessions ?? []),
    configMaps: [...files.configMaps, ...stored.configMaps.filter((c) => !given.has(`${c.namespace}/${c.name}`))],
  };
}

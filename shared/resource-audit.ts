/**
 * Budget and backend changes leave an audit record as jobs do: each version of a QiskitBudget
 * or QiskitBackend (its spec, who made it, when) and its deletion, one object per version,
 * created once. On Kubernetes collect-results records them from the API server's events,
 * reading the cluster's own copy (an event can be forged; the copy cannot); without
 * Kubernetes `qpipe apply` (and `submit --bus`, the EKS bridge) record what they write.
 */
import { type Static, Type } from '@sinclair/typebox';
import { keySegment } from './storage/key-segment.ts';
import type { ObjectStore } from './storage/object-store.ts';
import { readDocument } from './storage/documents.ts';

/** The kinds whose changes are recorded. */
export const AUDITED_KINDS = ['QiskitBudget', 'QiskitBackend'] as const;
export type AuditedKind = (typeof AUDITED_KINDS)[number];

export function isAuditedKind(kind: string | undefined): kind is AuditedKind {
  return (AUDITED_KINDS as readonly string[]).includes(kind ?? '');
}

/** One recorded version (or the deletion) of a budget or backend. */
export const ResourceChange = Type.Object({
  kind: Type.Union(AUDITED_KINDS.map((kind) => Type.Literal(kind))),
  namespace: Type.String(),
  name: Type.String(),
  change: Type.Union([Type.Literal('created'), Type.Literal('changed'), Type.Literal('deleted')]),
  at: Type.String({ description: 'When it was recorded.' }),
  by: Type.String({ description: 'Who made the change, as far as the platform vouches for it.' }),
  uid: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  spec: Type.Optional(Type.Unknown({ description: 'The spec this change made (the last one, for a deletion).' })),
});
export type ResourceChange = Static<typeof ResourceChange>;

/** The folder of every recorded change of one budget or backend. */
export function resourceAuditFolder(kind: AuditedKind, namespace: string, name: string): string {
  return `audit/${kind.toLowerCase()}s/${keySegment(namespace)}/${keySegment(name)}/`;
}

/** Where one version (or the deletion) of an object is recorded. */
function versionKey(
  kind: AuditedKind,
  object: { readonly namespace: string; readonly name: string },
  version: string,
): string {
  return `${resourceAuditFolder(kind, object.namespace, object.name)}${keySegment(version)}.json`;
}

/**
 * Records a change once: a version is named by its uid and generation (status writes, which
 * leave the generation alone, add nothing), a deletion by its uid; without either (a store
 * keeps no uids), by its time.
 */
export async function recordResourceChange(store: ObjectStore, change: ResourceChange): Promise<boolean> {
  const version =
    change.uid === undefined
      ? `${change.at}-${change.change}`
      : `${change.uid}-${change.change === 'deleted' ? 'deleted' : String(change.generation ?? 0)}`;
  return store.putIfAbsent(versionKey(change.kind, change, version), JSON.stringify(change), 'application/json');
}

/** Whether the version of an object is recorded already (a redelivered or status-only event). */
export async function isRecorded(
  store: ObjectStore,
  kind: AuditedKind,
  object: { readonly namespace: string; readonly name: string; readonly uid: string; readonly version: string },
): Promise<boolean> {
  return (await store.get(versionKey(kind, object, `${object.uid}-${object.version}`))) !== undefined;
}

/** Every recorded change of a budget or backend, oldest first. */
export async function readResourceChanges(
  store: ObjectStore,
  kind: AuditedKind,
  namespace: string,
  name: string,
): Promise<ResourceChange[]> {
  const changes: ResourceChange[] = [];
  for (const key of await store.list(resourceAuditFolder(kind, namespace, name))) {
    const change = await readDocument(store, key, ResourceChange);
    if (change) changes.push(change);
  }
  return changes.sort((a, b) => a.at.localeCompare(b.at));
}

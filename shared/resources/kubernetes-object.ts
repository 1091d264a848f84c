/**
 * Reading qpipe resources as the Kubernetes API serves them: the object carries status and
 * server-set metadata that a manifest never has.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isRecord } from '../records.ts';

/** The metadata fields a user writes; everything else (managedFields, resourceVersion, …) the server sets. */
const USER_METADATA = ['name', 'namespace', 'uid', 'generation', 'labels', 'annotations'] as const;

/**
 * What validation checks of a Kubernetes object: its spec and the metadata a user writes.
 * Status and server-set fields are dropped, so an object read back from the API server
 * (or exported with `kubectl get -o yaml`) validates exactly as the manifest applied.
 */
export function userManifestOf(object: Record<string, unknown>): Record<string, unknown> {
  const metadata = isRecord(object['metadata']) ? object['metadata'] : {};
  return {
    apiVersion: object['apiVersion'],
    kind: object['kind'],
    metadata: Object.fromEntries(USER_METADATA.filter((k) => k in metadata).map((k) => [k, metadata[k]])),
    spec: object['spec'],
  };
}

/**
 * Whether the object's status already describes its current generation: the update came
 * from a status write (ApiServerSource sends one for each) or a metadata change, or the
 * adapter re-listed an object it had sent before. The spec has not changed: no work.
 */
export function generationObserved(object: Record<string, unknown>): boolean {
  const metadata = isRecord(object['metadata']) ? object['metadata'] : {};
  const status = isRecord(object['status']) ? object['status'] : {};
  const observed = status['observedGeneration'];
  const generation = metadata['generation'];
  return typeof observed === 'number' && typeof generation === 'number' && observed >= generation;
}

/** What qpipe reads of any object an ApiServerSource sends: its kind and identity. */
const ObjectIdentity = Type.Object({
  kind: Type.String(),
  metadata: Type.Object({
    name: Type.String({ minLength: 1 }),
    namespace: Type.Optional(Type.String()),
    uid: Type.Optional(Type.String()),
    generation: Type.Optional(Type.Integer({ minimum: 0 })),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  }),
  spec: Type.Optional(Type.Object({ budget: Type.Optional(Type.Object({ budgetRef: Type.Optional(Type.String()) })) })),
});
/** An object's kind and identity, as parsed. */
export type ObjectIdentity = Static<typeof ObjectIdentity>;

/**
 * The kind and identity of an object as the Kubernetes API sent it, or undefined when it
 * has none a stage could act on (events about other objects are not qpipe's to refuse).
 */
export function objectIdentity(object: unknown): ObjectIdentity | undefined {
  return Value.Check(ObjectIdentity, object) ? object : undefined;
}

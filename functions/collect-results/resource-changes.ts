/**
 * The audit record of budget and backend changes on Kubernetes: from the API server's events,
 * each new version of a QiskitBudget or QiskitBackend (and each deletion) is recorded once,
 * as the cluster holds it and with the user the admission policy stamped on it. An event only
 * says which object to look at; what is recorded comes from the cluster, so a forged event
 * records nothing the cluster does not hold.
 */
import type { TypedEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { requesterOf } from '../../shared/audit.ts';
import { confirmedByCluster, heldCopy } from '../../shared/cluster/platform-events.ts';
import { isAuditedKind, isRecorded, recordResourceChange } from '../../shared/resource-audit.ts';
import { objectIdentity } from '../../shared/resources/kubernetes-object.ts';
import type { Ports } from '../../shared/runtime/ports.ts';

type Deps = Pick<Ports, 'cluster' | 'store' | 'now'> & Partial<Pick<Ports, 'log'>>;

/** What the API server cannot say: who deleted (its own audit log can). */
const DELETED_BY = 'the Kubernetes API (a deletion carries no requester; see the API server audit log)';

/** Records the change an API-server event tells of, when it is about a budget or backend. */
export async function recordResourceEvent(
  event: TypedEvent<
    typeof EventType.ResourceAdded | typeof EventType.ResourceUpdated | typeof EventType.ResourceDeleted
  >,
  deps: Deps,
): Promise<void> {
  const object = objectIdentity(event.data);
  if (!object || !isAuditedKind(object.kind) || object.metadata.uid === undefined) return;
  const { kind } = object;
  const { name, uid } = object.metadata;
  const namespace = object.metadata.namespace ?? 'default';
  const deleted = event.type === EventType.ResourceDeleted;
  // A status write sends an update with the same generation: recorded already, nothing to ask the cluster.
  const version = deleted ? 'deleted' : String(object.metadata.generation ?? 0);
  if (await isRecorded(deps.store, kind, { namespace, name, uid, version })) return;
  const at = deps.now().toISOString();
  if (deleted) {
    if (!(await confirmedByCluster({ kind, namespace, name, uid, change: 'deleted' }, deps))) return;
    await recordResourceChange(deps.store, { kind, namespace, name, change: 'deleted', at, by: DELETED_BY, uid });
    return;
  }
  const held = await heldCopy({ kind, namespace, name, uid, change: 'present' }, deps);
  if (!held) return;
  await recordResourceChange(deps.store, {
    kind,
    namespace,
    name,
    change: held.generation <= 1 ? 'created' : 'changed',
    at,
    by: requesterOf(held),
    uid,
    generation: held.generation,
    spec: held.spec,
  });
}

/**
 * Only the platform speaks for the platform: an API-server event (an ApiServerSource's add,
 * update or delete) is a claim about the cluster, which anyone able to post to a broker or an
 * ingress could forge. A stage acts on one only once the cluster confirms it: the object is
 * there with that uid (add, update), or it is really gone (delete: no object of that name, or
 * another object with another uid).
 */
import type { Logger } from 'pino';
import type { CheckedKind, ClusterReader, HeldObject } from './cluster.ts';

/** What an API-server event says of an object. */
export interface PlatformClaim {
  readonly kind: CheckedKind;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
  readonly change: 'present' | 'deleted';
}

type Deps = { readonly cluster: Pick<ClusterReader, 'findObject'>; readonly log?: Logger };

/** Whether the cluster confirms the claim; a claim it does not confirm is logged and not acted on. */
export async function confirmedByCluster(claim: PlatformClaim, deps: Deps): Promise<boolean> {
  return (await checkClaim(claim, deps)).confirmed;
}

/**
 * The cluster's own copy of an object an event says is present, when the cluster confirms it:
 * what a stage reads of it (who is stamped as its requester, say) comes from here, not the event.
 */
export async function heldCopy(
  claim: PlatformClaim & { change: 'present' },
  deps: Deps,
): Promise<HeldObject | undefined> {
  const { confirmed, held } = await checkClaim(claim, deps);
  return confirmed ? held : undefined;
}

async function checkClaim(
  claim: PlatformClaim,
  deps: Deps,
): Promise<{ confirmed: boolean; held: HeldObject | undefined }> {
  const found = await deps.cluster.findObject(claim.kind, claim.namespace, claim.name);
  const held = found === 'unverifiable' ? undefined : found;
  const confirmed =
    found !== 'unverifiable' &&
    claim.uid !== undefined &&
    (claim.change === 'present' ? held?.uid === claim.uid : held?.uid !== claim.uid);
  if (!confirmed) {
    deps.log?.warn(
      {
        object: `${claim.kind} ${claim.namespace}/${claim.name}`,
        uid: claim.uid,
        claimed: claim.change,
        held: found === 'unverifiable' ? found : (held?.uid ?? 'none'),
      },
      'not acted on: the cluster does not confirm what the API-server event says',
    );
  }
  return { confirmed, held };
}

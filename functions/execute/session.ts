/**
 * The provider session a job naming a QiskitSession runs in (decisions in shared/sessions.ts):
 * opened by the first job that needs it, claimed in the store first so two copies never
 * open two, reused until its maxTime passes, then closed at the provider. The QiskitSession's
 * status (phase, session id) follows each change; execute is its only writer.
 */
import type { JobRef } from '../../events/schemas.ts';
import type { BackendEntry, BackendExecutor } from '../../shared/backends/backend.ts';
import { InvalidInputError, TransientError } from '../../shared/errors.ts';
import { WorkInProgressError } from '../../shared/idempotency/claims.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { retrySwap } from '../../shared/storage/compare-and-swap.ts';
import { readVersionedDocument } from '../../shared/storage/documents.ts';
import { catalogFor } from '../../shared/backends/visibility.ts';
import {
  closedByProvider,
  onSessionDeleted,
  decideSession,
  openedRecord,
  SessionRecord,
  sessionRecordKey,
  sessionStatus,
} from '../../shared/sessions.ts';

type Deps = Pick<Ports, 'store' | 'cluster' | 'now'>;

const record = (value: SessionRecord) => JSON.stringify(value, null, 2);

/** The id of the open provider session named `name` in the job's namespace. */
export async function sessionIdFor(
  name: string,
  job: JobRef,
  backend: BackendEntry,
  executor: BackendExecutor,
  deps: Deps,
): Promise<string> {
  const { namespace } = job;
  const label = `QiskitSession ${namespace}/${name}`;
  const session = await deps.cluster.findSession(namespace, name);
  if (!session) throw new InvalidInputError('spec.session', `${label} does not exist`);
  if (!executor.openSession || !executor.closeSession) {
    throw new InvalidInputError('spec.session', `${backend.type} has no sessions`);
  }
  const key = sessionRecordKey(namespace, name);
  const show = (value: SessionRecord) => deps.cluster.writeSessionStatus(namespace, name, sessionStatus(value));
  for (let attempt = 0; attempt < 5; attempt++) {
    const read = await readVersionedDocument(deps.store, key, SessionRecord);
    const decision = decideSession(session, backend.name, read.document, deps.now());
    switch (decision.kind) {
      case 'use': {
        // The provider may have closed it early (its console, its own clock): then it is closed here too.
        const open = (await executor.sessionAcceptsJobs?.(backend, decision.sessionId)) ?? true;
        if (open) return decision.sessionId;
        const closed = closedByProvider(decision.record, deps.now());
        if (await deps.store.putIfVersion(key, record(closed), read.version, 'application/json')) await show(closed);
        continue;
      }
      case 'wait':
        throw new WorkInProgressError(`opening ${label}`, decision.retryAt);
      case 'refuse':
        throw new InvalidInputError('spec.session', decision.reason);
      case 'close':
        if (decision.sessionId) await executor.closeSession(backend, decision.sessionId);
        if (await deps.store.putIfVersion(key, record(decision.closed), read.version, 'application/json')) {
          await show(decision.closed);
        }
        continue;
      case 'open': {
        if (!(await deps.store.putIfVersion(key, record(decision.claim), read.version, 'application/json'))) continue;
        await show(decision.claim);
        let id: string;
        try {
          id = await executor.openSession(backend, {
            mode: session.spec.mode ?? 'dedicated',
            maxTimeSeconds: decision.maxTimeSeconds,
          });
        } catch (error) {
          // Let the next attempt open it at once rather than after the claim's lease.
          await deps.store.delete(key);
          throw error;
        }
        const opened = openedRecord(backend.name, id, decision.maxTimeSeconds, deps.now());
        // Still our claim? The QiskitSession may have been deleted meanwhile (its record closed).
        const latest = await readVersionedDocument(deps.store, key, SessionRecord);
        const current = latest.document;
        const ours = current?.phase === 'Pending' && current.claimedAt === decision.claim.claimedAt;
        if (!ours || !(await deps.store.putIfVersion(key, record(opened), latest.version, 'application/json'))) {
          await executor.closeSession(backend, id);
          continue;
        }
        await show(opened);
        return id;
      }
    }
  }
  throw new TransientError(`${label} kept changing while this job tried to use it`);
}

/**
 * A deleted QiskitSession's provider session is closed now rather than left to run out its
 * time at the provider; its record says why. Nothing to do for one never opened or closed.
 */
export async function closeDeletedSession(
  namespace: string,
  name: string,
  deps: Deps & Pick<Ports, 'executors' | 'config'>,
): Promise<void> {
  const key = sessionRecordKey(namespace, name);
  // Not updateDocument: closing at IBM happens between the read and the write (closing twice is harmless).
  await retrySwap(
    `QiskitSession ${namespace}/${name}`,
    async () => {
      const read = await readVersionedDocument(deps.store, key, SessionRecord);
      const deleted = onSessionDeleted(read.document, deps.now());
      if (!deleted) return { done: true, result: undefined };
      const executor = deps.executors.ibm_quantum;
      if (deleted.close !== undefined && executor?.closeSession) {
        const entry = (await catalogFor(namespace, deps)).find((e) => e.name === read.document?.backend);
        if (entry) await executor.closeSession(entry, deleted.close);
      }
      const written = await deps.store.putIfVersion(key, record(deleted.closed), read.version, 'application/json');
      return written ? { done: true, result: undefined } : { done: false };
    },
    { maxAttempts: 5 },
  );
}

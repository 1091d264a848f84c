/**
 * IBM sessions for QiskitSession resources: what execute decides when a job names one. The
 * provider session is opened by the first job that needs it (claimed in the store first,
 * so two copies never open two), reused until its maxTime ends, then closed; a job naming
 * a closed session is refused with the reason. Decisions here, I/O in the execute stage.
 */
import { type Static, Type } from '@sinclair/typebox';
import { parseDuration } from './duration.ts';
import { InvalidInputError } from './errors.ts';
import type { QiskitSession, QiskitSessionStatus } from './resources/schema.ts';
import { keySegment } from './storage/key-segment.ts';

/** IBM's default and longest session: 8 hours. */
export const DEFAULT_SESSION_MAX_TIME = '8h';
/** How long a claim to open a session holds before another copy may take over (a crash mid-open). */
export const SESSION_OPENING_LEASE_MS = 60_000;

/** What the store keeps of a QiskitSession's provider session. */
export const SessionRecord = Type.Object({
  phase: Type.Union([Type.Literal('Pending'), Type.Literal('Open'), Type.Literal('Closed')]),
  backend: Type.String(),
  sessionId: Type.Optional(Type.String()),
  /** When the claim to open it was taken (Pending). */
  claimedAt: Type.Optional(Type.String()),
  openedAt: Type.Optional(Type.String()),
  closesAt: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});
export type SessionRecord = Static<typeof SessionRecord>;

/** Where a session's record lives in the store. */
export function sessionRecordKey(namespace: string, name: string): string {
  return `sessions/${keySegment(namespace)}/${keySegment(name)}.json`;
}

/** What to do for a job that names a session. */
export type SessionDecision =
  | { readonly kind: 'use'; readonly sessionId: string; readonly record: SessionRecord }
  /** Claim the record (compare-and-swap), then open the provider session. */
  | { readonly kind: 'open'; readonly claim: SessionRecord; readonly maxTimeSeconds: number }
  /** Another copy is opening it: try again after `retryAt`. */
  | { readonly kind: 'wait'; readonly retryAt: number }
  /** Its maxTime has passed: close it at the provider, record it closed, refuse the job. */
  | { readonly kind: 'close'; readonly sessionId: string; readonly closed: SessionRecord }
  | { readonly kind: 'refuse'; readonly reason: string };

const label = (session: QiskitSession) =>
  `QiskitSession ${session.metadata.namespace ?? 'default'}/${session.metadata.name}`;

/** The longest a session stays open, in seconds. */
export function sessionMaxTimeSeconds(session: QiskitSession): number {
  return parseDuration(session.spec.maxTime ?? DEFAULT_SESSION_MAX_TIME, 'spec.maxTime') / 1000;
}

/** The backend a session runs on: an IBM Quantum device it names, or an error saying what is wrong. */
export function sessionBackend(session: QiskitSession): string {
  const { type, name } = session.spec.backend;
  if (type !== 'ibm_quantum') {
    throw new InvalidInputError('spec.session', `${label(session)} runs on ${type}; only IBM Quantum has sessions`);
  }
  if (!name) throw new InvalidInputError('spec.session', `${label(session)} names no device in spec.backend.name`);
  return name;
}

/** Decides from the stored record (if any) and the time what a job on `backend` does with the session. */
export function decideSession(
  session: QiskitSession,
  backend: string,
  record: SessionRecord | undefined,
  now: Date,
): SessionDecision {
  const device = sessionBackend(session);
  if (device !== backend) {
    return { kind: 'refuse', reason: `${label(session)} runs on ${device}, not on ${backend}` };
  }
  const at = now.getTime();
  const claim: SessionRecord = { phase: 'Pending', backend, claimedAt: now.toISOString() };
  const maxTimeSeconds = sessionMaxTimeSeconds(session);
  if (!record) return { kind: 'open', claim, maxTimeSeconds };
  switch (record.phase) {
    case 'Pending': {
      const until = Date.parse(record.claimedAt ?? '') + SESSION_OPENING_LEASE_MS;
      return until > at ? { kind: 'wait', retryAt: until } : { kind: 'open', claim, maxTimeSeconds };
    }
    case 'Open': {
      if (record.sessionId && Date.parse(record.closesAt ?? '') > at)
        return { kind: 'use', sessionId: record.sessionId, record };
      const message = `its maxTime (${session.spec.maxTime ?? DEFAULT_SESSION_MAX_TIME}) ended at ${record.closesAt}`;
      return { kind: 'close', sessionId: record.sessionId ?? '', closed: { ...record, phase: 'Closed', message } };
    }
    case 'Closed':
      return { kind: 'refuse', reason: `${label(session)} is closed: ${record.message ?? 'closed'}` };
  }
}

/** The record of a session the provider opened now. */
export function openedRecord(backend: string, sessionId: string, maxTimeSeconds: number, now: Date): SessionRecord {
  return {
    phase: 'Open',
    backend,
    sessionId,
    openedAt: now.toISOString(),
    closesAt: new Date(now.getTime() + maxTimeSeconds * 1000).toISOString(),
  };
}

/**
 * A QiskitSession was deleted: the provider session to close (if one is open or being
 * opened) and the record it leaves, or nothing to do.
 */
export function onSessionDeleted(
  record: SessionRecord | undefined,
  now: Date,
): { readonly close: string | undefined; readonly closed: SessionRecord } | undefined {
  if (!record || record.phase === 'Closed') return undefined;
  const closed: SessionRecord = {
    ...record,
    phase: 'Closed',
    message: `its QiskitSession was deleted at ${now.toISOString()}`,
  };
  return { close: record.sessionId, closed };
}

/** The record of an open session the provider closed before qpipe's closesAt. */
export function closedByProvider(record: SessionRecord, now: Date): SessionRecord {
  return {
    ...record,
    phase: 'Closed',
    message: `the provider closed it at ${now.toISOString()}, before its maxTime ended (${record.closesAt ?? 'unknown'})`,
  };
}

/** The QiskitSession status a record shows. */
export function sessionStatus(record: SessionRecord): QiskitSessionStatus {
  return {
    phase: record.phase,
    ...(record.sessionId ? { sessionId: record.sessionId } : {}),
    ...(record.openedAt ? { openedAt: record.openedAt } : {}),
    ...(record.closesAt ? { closesAt: record.closesAt } : {}),
    ...(record.message ? { message: record.message } : {}),
  };
}

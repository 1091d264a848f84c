/** Budget admission is a pure decision: ledger state and request in, ledger state and decision out. */
import { describe, expect, it } from 'vitest';
import { type AdmissionRequest, decideAdmission } from '../../../shared/budget/admission.ts';
import { EMPTY_LEDGER, type LedgerState, reclaimDead, reservedMicros } from '../../../shared/budget/ledger.ts';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const request = (overrides: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  jobKey: 'uid-1/1',
  job: 'default/job-1',
  estimateMicros: 40,
  limitMicros: 100,
  blockOnExceed: true,
  graceMs: 3_600_000,
  now: NOW,
  periodEndsAt: Number.POSITIVE_INFINITY,
  heldRef: 'held/default/team/uid-1-1.json',
  terms: { expiresAt: NOW + 600_000 },
  ...overrides,
});
const spent = (micros: number): LedgerState => ({ ...EMPTY_LEDGER, spentMicros: micros });

describe('budget admission (pure)', () => {
  it('reserves the estimate when it fits, and a second delivery changes nothing', () => {
    const first = decideAdmission(spent(50), request());
    expect(first.decision).toEqual({ kind: 'approved' });
    expect(reservedMicros(first.state)).toBe(40);
    const again = decideAdmission(first.state, request());
    expect(again.decision).toEqual({ kind: 'approved' });
    expect(again.state).toEqual(first.state);
  });

  it('holds a job that does not fit, names the amounts, and re-checks after the minimum', () => {
    const { state, decision } = decideAdmission(spent(80), request());
    expect(decision).toMatchObject({
      kind: 'held',
      firstTime: true,
      since: NOW,
      deadline: NOW + 3_600_000,
      recheckAt: NOW + 5_000,
      overspend: { estimateMicros: 40, spentMicros: 80, reservedMicros: 0, limitMicros: 100 },
    });
    expect(state.waiting?.['uid-1/1']).toEqual({ job: 'default/job-1', heldRef: 'held/default/team/uid-1-1.json' });
    expect(reservedMicros(state)).toBe(0);
  });

  it('backs re-checks off with the time waited, never past the deadline or the period end', () => {
    const held = { since: NOW - 600_000, deadline: NOW + 3_000_000 };
    expect(decideAdmission(spent(80), request({ held })).decision).toMatchObject({
      kind: 'held',
      firstTime: false,
      recheckAt: NOW + 600_000,
    });
    const nearDeadline = { since: NOW - 600_000, deadline: NOW + 10_000 };
    expect(decideAdmission(spent(80), request({ held: nearDeadline })).decision).toMatchObject({
      recheckAt: NOW + 10_000,
    });
    expect(decideAdmission(spent(80), request({ held, periodEndsAt: NOW + 20_000 })).decision).toMatchObject({
      recheckAt: NOW + 20_000,
    });
  });

  it('rejects at the deadline and stops the job waiting; the alert went out when it was first held', () => {
    const waiting = decideAdmission(spent(80), request()).state;
    const later = NOW + 3_600_000;
    const { state, decision } = decideAdmission(
      waiting,
      request({ now: later, held: { since: NOW, deadline: later } }),
    );
    expect(decision).toMatchObject({ kind: 'rejected', waitedMs: 3_600_000, firstTime: false });
    expect(state.waiting?.['uid-1/1']).toBeUndefined();
  });

  it('rejects at once without a grace period', () => {
    expect(decideAdmission(spent(80), request({ graceMs: 0 })).decision).toMatchObject({
      kind: 'rejected',
      firstTime: true,
      waitedMs: 0,
    });
  });

  it('lets the job run over the limit when the budget does not block, recording the reservation', () => {
    const { state, decision } = decideAdmission(spent(80), request({ blockOnExceed: false }));
    expect(decision).toMatchObject({ kind: 'approved-over-limit', overspend: { spentMicros: 80, reservedMicros: 0 } });
    expect(reservedMicros(state)).toBe(40);
  });

  it('approves a held job once budget frees up, and it no longer waits', () => {
    const waiting = decideAdmission(spent(80), request()).state;
    const freed = { ...waiting, spentMicros: 10 };
    const { state, decision } = decideAdmission(freed, request({ held: { since: NOW, deadline: NOW + 3_600_000 } }));
    expect(decision).toEqual({ kind: 'approved' });
    expect(state.waiting?.['uid-1/1']).toBeUndefined();
    expect(reservedMicros(state)).toBe(40);
  });

  it('reclaims a reservation past its expiry or whose owning process is gone, and never admits that run again', () => {
    const held = decideAdmission(spent(0), request({ terms: { expiresAt: NOW + 1000, owner: 'host/1/1' } })).state;
    const other = decideAdmission(
      held,
      request({ jobKey: 'uid-2/1', job: 'default/job-2', terms: { owner: 'host/2/2' } }),
    );
    expect(reclaimDead(other.state, { now: NOW }).reclaimed).toEqual([]);
    const expired = reclaimDead(other.state, { now: NOW + 1000 });
    expect(expired.reclaimed).toEqual([
      { jobKey: 'uid-1/1', job: 'default/job-1', micros: 40, why: expect.stringMatching(/expired at/) },
    ]);
    expect(reservedMicros(expired.state)).toBe(40);
    const orphaned = reclaimDead(other.state, { now: NOW, ownerGone: (owner) => owner === 'host/2/2' });
    expect(orphaned.reclaimed.map((r) => r.why)).toEqual([expect.stringMatching(/host\/2\/2\) is gone/)]);
    // A late delivery of the dead run's events does not reserve for it again.
    expect(decideAdmission(expired.state, request()).decision).toEqual({ kind: 'ended' });
  });
});

/**
 * QiskitSession: a job naming one is pinned to the session's IBM device, charged to the
 * session's budget, and runs inside one provider session, opened by the first job that
 * needs it and closed when its maxTime has passed. Real stages over memory ports; the IBM
 * executor stands in as a recorder of the calls it gets (its REST calls are tested
 * against the IBM stand-in in test/integration/ibm.test.ts).
 */
import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { buildEvent, buildJobEvent, parseEvent } from '../../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../../events/examples.ts';
import type { EventData, JobRef } from '../../../events/schemas.ts';
import { EventType } from '../../../events/types.ts';
import { stage as enforceBudget } from '../../../functions/enforce-budget/handler.ts';
import { stage as execute } from '../../../functions/execute/handler.ts';
import { stage as selectBackend } from '../../../functions/select-backend/handler.ts';
import type { BackendExecutor, ExecutionRequest, SessionOptions } from '../../../shared/backends/backend.ts';
import { WorkInProgressError } from '../../../shared/idempotency/claims.ts';
import type { QiskitSession } from '../../../shared/resources/schema.ts';
import { runStage } from '../../../shared/runtime/stage.ts';
import { decideSession, type SessionRecord, sessionRecordKey } from '../../../shared/sessions.ts';
import { budget } from '../../support/manifests.ts';
import { FROZEN_NOW, memoryPorts, received, reserved, withHeldObjects } from '../../support/memory-ports.ts';

const session = (spec: Partial<QiskitSession['spec']> = {}, namespace = 'default'): QiskitSession => ({
  apiVersion: 'quantum.io/v1',
  kind: 'QiskitSession',
  metadata: { name: 'calibration', namespace },
  spec: { backend: { type: 'ibm_quantum', name: 'ibm_brisbane' }, maxTime: '1h', budgetRef: 'lab', ...spec },
});

/** An IBM executor that records what it is asked. */
function recordingIbm() {
  const calls = { opened: [] as SessionOptions[], closed: [] as string[], runs: [] as ExecutionRequest[] };
  /** Sessions the provider closed on its own. */
  const closedByIbm = new Set<string>();
  const executor: BackendExecutor = {
    type: 'ibm_quantum',
    async execute(request) {
      calls.runs.push(request);
      return { kind: 'submitted', taskId: `task-${calls.runs.length}`, layout: { registers: [], clbitQubits: [] } };
    },
    async collect() {
      return { kind: 'pending', status: 'Queued' };
    },
    async status() {
      return { online: true, queueDepth: 0 };
    },
    async openSession(_backend, options) {
      calls.opened.push(options);
      return `ibm-session-${calls.opened.length}`;
    },
    async closeSession(_backend, id) {
      calls.closed.push(id);
    },
    async sessionAcceptsJobs(_backend, id) {
      return !closedByIbm.has(id) && !calls.closed.includes(id);
    },
  };
  return { executor, calls, closedByIbm };
}

const job = (name: string): JobRef => ({ namespace: 'default', name, uid: `uid-${name}`, generation: 1 });

function approved(name: string): CloudEvent<unknown> {
  const example = parseEvent(EXAMPLE_EVENTS[EventType.JobApproved]).data as EventData<typeof EventType.JobApproved>;
  return buildJobEvent(
    EventType.JobApproved,
    {
      ...example,
      job: job(name),
      spec: { ...example.spec, session: 'calibration' },
      backend: { name: 'ibm_brisbane', type: 'ibm_quantum', fallbackUsed: false },
    },
    job(name),
    { source: '/qpipe/enforce-budget' },
  );
}

describe('QiskitSession decisions', () => {
  const now = new Date('2026-11-30T10:00:00Z');
  const open: SessionRecord = {
    phase: 'Open',
    backend: 'ibm_brisbane',
    sessionId: 's1',
    openedAt: '2026-11-30T09:30:00Z',
    closesAt: '2026-11-30T10:30:00Z',
  };
  it('opens when there is none, uses an open one, waits for a fresh claim, takes over a stale one, closes an expired one, refuses a closed one', () => {
    expect(decideSession(session(), 'ibm_brisbane', undefined, now)).toMatchObject({
      kind: 'open',
      maxTimeSeconds: 3600,
    });
    expect(decideSession(session(), 'ibm_brisbane', open, now)).toEqual({ kind: 'use', sessionId: 's1', record: open });
    const claimed: SessionRecord = { phase: 'Pending', backend: 'ibm_brisbane', claimedAt: '2026-11-30T09:59:50Z' };
    expect(decideSession(session(), 'ibm_brisbane', claimed, now)).toEqual({
      kind: 'wait',
      retryAt: Date.parse('2026-11-30T10:00:50Z'),
    });
    const stale = { ...claimed, claimedAt: '2026-11-30T09:50:00Z' };
    expect(decideSession(session(), 'ibm_brisbane', stale, now).kind).toBe('open');
    const later = new Date('2026-11-30T10:31:00Z');
    expect(decideSession(session(), 'ibm_brisbane', open, later)).toMatchObject({
      kind: 'close',
      sessionId: 's1',
      closed: { phase: 'Closed', message: 'its maxTime (1h) ended at 2026-11-30T10:30:00Z' },
    });
    expect(decideSession(session(), 'ibm_brisbane', { ...open, phase: 'Closed', message: 'm' }, now)).toEqual({
      kind: 'refuse',
      reason: 'QiskitSession default/calibration is closed: m',
    });
  });

  it('refuses a session on another device, on a provider without sessions, or naming no device', () => {
    expect(decideSession(session(), 'ibm_torino', undefined, now)).toEqual({
      kind: 'refuse',
      reason: 'QiskitSession default/calibration runs on ibm_brisbane, not on ibm_torino',
    });
    expect(() =>
      decideSession(session({ backend: { type: 'aws_braket', name: 'sv1' } }), 'sv1', undefined, now),
    ).toThrow('runs on aws_braket; only IBM Quantum has sessions');
    expect(() => decideSession(session({ backend: { type: 'ibm_quantum' } }), 'x', undefined, now)).toThrow(
      'names no device in spec.backend.name',
    );
  });
});

describe('QiskitSession through the stages', () => {
  it('select-backend pins a job to its session’s device, with no fallback; a missing session rejects the job', async () => {
    const { executor } = recordingIbm();
    const validated = (spec: Record<string, unknown>) => {
      const example = parseEvent(EXAMPLE_EVENTS[EventType.JobValidated]);
      if (example.type !== EventType.JobValidated) throw new Error('bad example');
      return new CloudEvent({
        ...EXAMPLE_EVENTS[EventType.JobValidated].toJSON(),
        data: { ...example.data, spec: { ...example.data.spec, ...spec } },
      } as never);
    };
    // In the example job's namespace.
    const ports = memoryPorts({ sessions: [session({}, 'quantum-research')] });
    ports.executors.ibm_quantum = executor;
    const run = await runStage(
      selectBackend,
      validated({ session: 'calibration', backendSelection: { fallbackToSimulator: true } }),
      ports,
    );
    const scheduled = received(run.emitted[0] as never);
    if (scheduled.type !== EventType.JobScheduled) throw new Error(`${scheduled.type}: ${run.error}`);
    expect(scheduled.data.backend).toMatchObject({ name: 'ibm_brisbane', type: 'ibm_quantum', fallbackUsed: false });
    const missing = await runStage(selectBackend, validated({ session: 'nope' }), ports);
    expect(missing.error).toContain('spec.session: QiskitSession quantum-research/nope does not exist');
  });

  it('enforce-budget charges the session’s budget, not the namespace’s other one', async () => {
    const example = parseEvent(EXAMPLE_EVENTS[EventType.JobScheduled]).data as EventData<typeof EventType.JobScheduled>;
    const event = buildJobEvent(
      EventType.JobScheduled,
      {
        ...example,
        job: job('a'),
        spec: { ...example.spec, session: 'calibration' },
        estimate: { totalMicros: 1000, breakdown: [] },
      },
      job('a'),
      { source: '/qpipe/select-backend' },
    );
    const ports = memoryPorts({ sessions: [session()], budgets: [budget('team'), budget('lab')] });
    const run = await runStage(enforceBudget, event, ports);
    const approvedEvent = received(run.emitted[0] as never);
    if (approvedEvent.type !== EventType.JobApproved) throw new Error(`${approvedEvent.type}: ${run.error}`);
    expect(approvedEvent.data.budget).toMatchObject({ namespace: 'default', name: 'lab' });
  });

  it('execute opens the session once, runs every job inside it, shows its id and phase, and closes it after maxTime', async () => {
    const { executor, calls } = recordingIbm();
    let now = FROZEN_NOW;
    const ports = memoryPorts({ sessions: [session({ mode: 'batch' })] }, { now: () => now });
    ports.executors.ibm_quantum = executor;

    for (const name of ['a', 'b']) {
      const run = await runStage(execute, await reserved(ports, approved(name)), ports);
      expect(
        run.emitted.map((e) => e.type),
        String(run.error),
      ).toEqual([EventType.JobSubmitted]);
    }
    expect(calls.opened).toEqual([{ mode: 'batch', maxTimeSeconds: 3600 }]);
    expect(calls.runs.map((r) => r.sessionId)).toEqual(['ibm-session-1', 'ibm-session-1']);
    expect(await ports.cluster.readSessionStatus('default', 'calibration')).toEqual({
      phase: 'Open',
      sessionId: 'ibm-session-1',
      openedAt: FROZEN_NOW.toISOString(),
      closesAt: new Date(FROZEN_NOW.getTime() + 3600_000).toISOString(),
    });

    // An hour later the session is over: closed at IBM, shown Closed, and a new job is refused with the reason.
    now = new Date(FROZEN_NOW.getTime() + 3601_000);
    const late = await runStage(execute, await reserved(ports, approved('c')), ports);
    expect(calls.closed).toEqual(['ibm-session-1']);
    expect(late.error).toMatch(/spec\.session: QiskitSession default\/calibration is closed: its maxTime \(1h\) ended/);
    expect(late.emitted.map((e) => e.type)).toEqual([EventType.JobFailed]);
    expect(await ports.cluster.readSessionStatus('default', 'calibration')).toMatchObject({ phase: 'Closed' });
    expect(calls.runs).toHaveLength(2);
  });

  it('a session IBM closed before its maxTime is closed here too: the next job is refused with why, none submitted', async () => {
    const { executor, calls, closedByIbm } = recordingIbm();
    const ports = memoryPorts({ sessions: [session()] });
    ports.executors.ibm_quantum = executor;
    expect((await runStage(execute, await reserved(ports, approved('e')), ports)).emitted.map((e) => e.type)).toEqual([
      EventType.JobSubmitted,
    ]);
    closedByIbm.add('ibm-session-1');
    const refused = await runStage(execute, await reserved(ports, approved('f')), ports);
    expect(refused.error).toMatch(
      /QiskitSession default\/calibration is closed: the provider closed it at .*, before its maxTime ended/,
    );
    expect(refused.emitted.map((e) => e.type)).toEqual([EventType.JobFailed]);
    expect(calls.runs).toHaveLength(1);
    expect(calls.opened).toHaveLength(1);
    expect(await ports.cluster.readSessionStatus('default', 'calibration')).toMatchObject({
      phase: 'Closed',
      sessionId: 'ibm-session-1',
    });
  });

  it('a deleted QiskitSession (ApiServerSource delete event) is closed at IBM at once, once; one never opened needs nothing', async () => {
    const { executor, calls } = recordingIbm();
    // The API server holds no QiskitSession any more: the deletion is confirmed.
    const ports = withHeldObjects(memoryPorts({ sessions: [session()] }), []);
    ports.executors.ibm_quantum = executor;
    const deleted = (name: string) =>
      buildEvent(
        EventType.ResourceDeleted,
        {
          apiVersion: 'quantum.io/v1',
          kind: 'QiskitSession',
          metadata: { name, namespace: 'default', uid: `uid-${name}` },
          spec: {},
        },
        { source: 'https://kubernetes' },
      );
    expect((await runStage(execute, deleted('never-opened'), ports)).emitted).toEqual([]);
    expect(calls.closed).toEqual([]);

    await runStage(execute, await reserved(ports, approved('g')), ports);
    for (let delivery = 0; delivery < 2; delivery++) {
      const run = await runStage(execute, deleted('calibration'), ports);
      expect(run.error ?? run.retry).toBeUndefined();
    }
    expect(calls.closed).toEqual(['ibm-session-1']);
    const stored = await ports.store.get(sessionRecordKey('default', 'calibration'));
    expect(JSON.parse(Buffer.from(stored!).toString('utf8'))).toMatchObject({
      phase: 'Closed',
      sessionId: 'ibm-session-1',
      message: expect.stringMatching(/its QiskitSession was deleted at /),
    });
    // Deleting a job (another kind) closes nothing.
    const job = buildEvent(
      EventType.ResourceDeleted,
      { apiVersion: 'quantum.io/v1', kind: 'QiskitJob', metadata: { name: 'x', namespace: 'default', uid: 'u' } },
      { source: 'https://kubernetes' },
    );
    expect((await runStage(execute, job, ports)).emitted).toEqual([]);
    expect(calls.closed).toHaveLength(1);
  });

  it('a QiskitSession deleted while the first job opens it: the new IBM session is closed again and the job refused', async () => {
    const { executor, calls } = recordingIbm();
    const ports = withHeldObjects(memoryPorts({ sessions: [session()] }), []);
    const open = executor.openSession!.bind(executor);
    ports.executors.ibm_quantum = {
      ...executor,
      async openSession(backend, options) {
        const id = await open(backend, options);
        const deletion = buildEvent(
          EventType.ResourceDeleted,
          {
            apiVersion: 'quantum.io/v1',
            kind: 'QiskitSession',
            metadata: { name: 'calibration', namespace: 'default', uid: 'uid-calibration' },
          },
          { source: 'https://kubernetes' },
        );
        await runStage(execute, deletion, ports);
        return id;
      },
    };
    const run = await runStage(execute, await reserved(ports, approved('h')), ports);
    expect(run.error).toMatch(/QiskitSession default\/calibration is closed: its QiskitSession was deleted at /);
    expect(calls.closed).toEqual(['ibm-session-1']);
    expect(calls.runs).toEqual([]);
  });

  it('a job arriving while another copy opens the session comes back later, without counting a failed attempt', async () => {
    const { executor, calls } = recordingIbm();
    const ports = memoryPorts({ sessions: [session()] });
    ports.executors.ibm_quantum = executor;
    const claim: SessionRecord = { phase: 'Pending', backend: 'ibm_brisbane', claimedAt: FROZEN_NOW.toISOString() };
    await ports.store.put(sessionRecordKey('default', 'calibration'), JSON.stringify(claim), 'application/json');
    const run = await runStage(execute, await reserved(ports, approved('d')), ports);
    expect(run.retry).toBeInstanceOf(WorkInProgressError);
    expect(calls.opened).toEqual([]);
    expect(calls.runs).toEqual([]);
  });
});

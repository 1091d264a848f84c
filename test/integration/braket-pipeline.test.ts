/**
 * A job on a Braket device through the whole pipeline: configuration from the
 * environment as a deployment reads it, results and task records in a real S3-compatible
 * server (s3rver), and Braket at the SDK boundary (the real client over HTTP to a
 * loopback stand-in answering in Braket's documented shapes, since no real Braket can
 * run here). Completion comes from collect-results' delayed re-checks, or from Braket's
 * EventBridge "Braket Task State Change" event where the deployment receives those.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { CloudEvent } from 'cloudevents';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { ALL_STAGES } from '../../functions/stages.ts';
import { loadConfig } from '../../shared/config.ts';
import { jobRefOf } from '../../shared/job-validation.ts';
import { createDeployedPorts } from '../../shared/runtime/deployed-ports.ts';
import { createEmbeddedPipeline, type EmbeddedPipeline } from '../../shared/runtime/embedded.ts';
import type { QiskitBackend } from '../../shared/resources/schema.ts';
import { FAKE_DEVICES, type FakeBraket, startFakeBraket } from '../support/fake-braket.ts';
import { budget, jobManifest } from '../support/manifests.ts';
import { type HeldEntry, withHeldObjects } from '../support/memory-ports.ts';
import { type S3TestServer, startS3Server } from '../support/s3-server.ts';

const SV1_ARN = FAKE_DEVICES[0]!.arn;
/** A QiskitBackend pointing at a Braket device, as a user would declare it. */
const teamSv1: QiskitBackend = {
  apiVersion: 'quantum.io/v1',
  kind: 'QiskitBackend',
  metadata: { name: 'team-sv1' },
  spec: {
    provider: 'aws_braket',
    deviceId: SV1_ARN,
    qubits: 34,
    pricing: { perMinute: '$0.075', minimumSeconds: 3 },
    enabled: true,
  },
};

const GHZ = (qubits: number) =>
  [
    'OPENQASM 3.0;',
    'include "stdgates.inc";',
    `qubit[${qubits}] q;`,
    `bit[${qubits}] c;`,
    'h q[0];',
    ...Array.from({ length: qubits - 1 }, (_, i) => `cx q[${i}], q[${i + 1}];`),
    'c = measure q;',
    '',
  ].join('\n');

/** A GHZ circuit padded past 64 KiB with gate pairs that cancel, so it travels by reference. */
function largeGhz(): string {
  const padding = Array.from({ length: 4500 }, (_, i) => `x q[${i % 3}];\nx q[${i % 3}];`).join('\n');
  return GHZ(3).replace('h q[0];', `${padding}\nh q[0];`);
}

describe('a job on a Braket device, end to end with S3 and a Braket stand-in', () => {
  let s3: S3TestServer;
  let braket: FakeBraket;
  const saved = { ...process.env };

  beforeAll(async () => {
    s3 = await startS3Server(['qpipe-results']);
    braket = await startFakeBraket(s3.client);
  });
  afterAll(async () => {
    await braket.close();
    await s3.close();
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  async function pipeline(extra: Record<string, string> = {}, held?: HeldEntry[]) {
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_BRAKET: braket.endpoint,
      QPIPE_S3_BUCKET: 'qpipe-results',
      QPIPE_S3_FORCE_PATH_STYLE: 'true',
      QPIPE_BRAKET: 'true',
      QPIPE_POLL_FIRST_SECONDS: '1',
      QPIPE_DEVICE_STATUS_CACHE_SECONDS: '0',
      QPIPE_SIMULATOR_MAX_MEMORY: '1GiB',
      ...extra,
    });
    const config = loadConfig(process.env);
    const deployed = await createDeployedPorts(config, {
      budgets: [budget('lab', { limit: '$5.00' })],
      backends: [teamSv1],
      configMaps: [],
    });
    // Where a test plays the API server, its objects are what the cluster confirms.
    const ports = held ? withHeldObjects(deployed, held) : deployed;
    const seen: CloudEvent<unknown>[] = [];
    const run = createEmbeddedPipeline({ stages: ALL_STAGES, ports, observe: (e) => seen.push(e) });
    return { run, ports, seen };
  }

  /**
   * Publishes a job pinned to team-sv1 and waits until the pipeline is idle, or, where Braket's
   * events end tasks, settled (the fallback poll waits its five minutes).
   */
  async function runJob(
    run: EmbeddedPipeline,
    name: string,
    code: string,
    spec: Record<string, unknown>,
    until: 'idle' | 'settled' = 'idle',
  ) {
    const job = jobManifest(
      name,
      { circuit: { source: 'inline', code }, backend: { name: 'team-sv1' }, ...spec },
      { uid: `uid-${name}` },
    );
    await run.publish([buildEvent(EventType.JobRequested, { job }, { source: '/test' })]);
    await (until === 'idle' ? run.idle() : run.settled());
  }

  /** Braket's clientToken for the job of that name: the uid qpipe derives for it, and its generation. */
  const clientTokenOf = (name: string) =>
    `${jobRefOf(jobManifest(name, {}, { uid: `uid-${name}` }), { from: 'request' }).uid}-1`;

  const readObject = async (key: string) => {
    const object = await s3.client.send(new GetObjectCommand({ Bucket: 'qpipe-results', Key: key }));
    return (await object.Body?.transformToString()) ?? '';
  };

  it('goes validated → scheduled → approved → submitted → completed, with the result document in S3', async () => {
    const { run, ports, seen } = await pipeline();
    await runJob(run, 'ghz-braket', GHZ(3), {
      execution: { shots: 200 },
      output: { type: 's3', path: 'results/ghz', format: 'csv' },
    });
    expect(run.reports).toEqual([]);
    const lifecycle = seen.map((e) => e.type).filter((t) => !t.endsWith('.poll'));
    expect(lifecycle).toEqual([
      EventType.JobRequested,
      EventType.JobValidated,
      EventType.JobScheduled,
      EventType.JobApproved,
      EventType.JobSubmitted,
      EventType.JobExecuted,
      EventType.JobCompleted,
    ]);
    // Re-checked while queued, then completed; one task for the job.
    expect(seen.filter((e) => e.type === EventType.JobPoll).length).toBeGreaterThanOrEqual(2);
    const tasks = [...braket.tasks.values()].filter((t) => t.request['clientToken'] === clientTokenOf('ghz-braket'));
    expect(tasks).toHaveLength(1);

    const status = await ports.cluster.readJobStatus('default', 'ghz-braket');
    expect(status).toMatchObject({ phase: 'Succeeded', selectedBackend: 'team-sv1', providerTaskId: tasks[0]!.arn });
    const document = JSON.parse(await readObject('outputs/default/results/ghz/result.json'));
    expect(document).toMatchObject({ backend: 'team-sv1', taskId: tasks[0]!.arn, shots: 200 });
    // The device's counts against the GHZ state's ideal half-and-half: recorded in the document and the status.
    const ideal = { '000': 0.5, '111': 0.5 };
    const p000 = document.counts['000'] / 200;
    const fidelity =
      Math.round((Math.sqrt(p000 * ideal['000']) + Math.sqrt((1 - p000) * ideal['111'])) ** 2 * 1e6) / 1e6;
    expect(document.quality).toEqual({
      hellingerFidelity: fidelity,
      totalVariationDistance: Math.round(Math.abs(p000 - 0.5) * 1e6) / 1e6,
    });
    expect(status?.results).toMatchObject({
      hellingerFidelity: fidelity,
      totalVariationDistance: document.quality.totalVariationDistance,
    });
    expect(Object.keys(document.counts).sort()).toEqual(['000', '111']);
    // SV1 bills 1.5 s of execution at its 3 s minimum: $0.075/min × 3 s.
    expect(document.actualCost).toBe('$0.00375');
    // The budget reserved the worst case at approval and settled the actual cost at completion.
    expect(await ports.cluster.readBudgetStatus('default', 'lab')).toMatchObject({
      spent: '$0.00375',
      reserved: '$0.00',
    });
    expect(await readObject('outputs/default/results/ghz/result.csv')).toMatch(
      /^outcome,count\n(000|111),\d+\n(000|111),\d+\n$/,
    );
  });

  it('sends a circuit over 64 KiB by reference through every stage and still runs it on Braket', async () => {
    const { run, ports, seen } = await pipeline();
    const code = largeGhz();
    expect(code.length).toBeGreaterThan(64 * 1024);
    await runJob(run, 'large-braket', code, { execution: { shots: 50 } });
    expect(run.reports).toEqual([]);
    for (const event of seen.filter((e) => e.type !== EventType.JobRequested)) {
      expect(JSON.stringify(event).length, event.type).toBeLessThan(64 * 1024);
    }
    const validated = seen.find((e) => e.type === EventType.JobValidated)?.data as {
      circuit: { ref?: string; code?: string };
    };
    expect(validated.circuit.code).toBeUndefined();
    expect(await readObject(validated.circuit.ref as string)).toBe(code);
    expect(await ports.cluster.readJobStatus('default', 'large-braket')).toMatchObject({ phase: 'Succeeded' });
  });

  it('finishes from Braket’s task state-change event where the deployment receives those, polling only as a slow fallback', async () => {
    const { run, ports, seen } = await pipeline({ QPIPE_BRAKET_STATE_EVENTS: 'true' });
    braket.behaviour.pollsBeforeDone = 0;
    await runJob(run, 'evented', GHZ(2), { execution: { shots: 20 } }, 'settled');
    expect(await ports.cluster.readJobStatus('default', 'evented')).toMatchObject({ phase: 'Submitted' });
    const task = [...braket.tasks.values()].find((t) => t.request['clientToken'] === clientTokenOf('evented'))!;
    // The fallback poll waits its five minutes (QPIPE_POLL_MAX_SECONDS; its due time: poll-backoff.test.ts),
    // and Braket is not asked about the task meanwhile.
    expect(run.bus.pending).toBeGreaterThan(0);
    expect(braket.calls.filter((c) => c === `GET /quantum-task/${task.arn}`)).toEqual([]);

    const stateChange = (status: string) =>
      buildEvent(
        EventType.BraketTaskStateChange,
        { quantumTaskArn: task.arn, status, deviceArn: SV1_ARN, eventName: 'MODIFY' },
        { source: 'aws.braket' },
      );
    // A task qpipe did not submit is ignored; RUNNING changes nothing; COMPLETED (twice) completes once.
    await run.publish([
      buildEvent(
        EventType.BraketTaskStateChange,
        { quantumTaskArn: 'arn:aws:braket:us-east-1:1:quantum-task/other', status: 'COMPLETED' },
        { source: 'aws.braket' },
      ),
      stateChange('RUNNING'),
    ]);
    await run.settled();
    expect(await ports.cluster.readJobStatus('default', 'evented')).toMatchObject({ phase: 'Submitted' });
    await run.publish([stateChange('COMPLETED'), stateChange('COMPLETED')]);
    await run.settled();
    expect(run.reports).toEqual([]);
    expect(await ports.cluster.readJobStatus('default', 'evented')).toMatchObject({ phase: 'Succeeded' });
    // Both deliveries may finish the task; the completions are one event (same id), which consumers deduplicate.
    const completions = seen.filter((e) => e.type === EventType.JobCompleted);
    expect(completions.length).toBeGreaterThanOrEqual(1);
    expect(new Set(completions.map((e) => e.id)).size).toBe(1);
    braket.behaviour.pollsBeforeDone = 1;
    await run.bus.close(0);
  });

  it.each([
    ['while it runs: Braket bills it, so its cost is settled', 2, '$0.00375'],
    ['while it is queued: Braket bills nothing', 0, '$0.00'],
  ])(
    'deleting a QiskitJob whose task is at Braket cancels the task once, and releases its money only when Braket confirms (%s)',
    async (_when, pollsBefore, charged) => {
      // The API server holds the job while it runs, and no longer once it is deleted.
      const object = jobManifest(
        `deleted-${pollsBefore}`,
        { circuit: { source: 'inline', code: GHZ(2) }, backend: { name: 'team-sv1' }, execution: { shots: 20 } },
        { uid: `k8s-uid-${pollsBefore}` },
      );
      const name = `deleted-${pollsBefore}`;
      const held: HeldEntry[] = [
        { kind: 'QiskitJob', namespace: 'default', name, uid: `k8s-uid-${pollsBefore}`, generation: 1 },
      ];
      const { run, ports } = await pipeline({ QPIPE_BRAKET_STATE_EVENTS: 'true' }, held);
      braket.behaviour.pollsBeforeDone = 1000;
      await run.publish([
        new CloudEvent({ type: EventType.ResourceAdded, source: 'https://kubernetes', data: object }),
      ]);
      await run.settled();
      expect(await ports.cluster.readJobStatus('default', name)).toMatchObject({ phase: 'Submitted' });
      const task = [...braket.tasks.values()].find(
        (t) => t.request['tags'] && (t.request['tags'] as Record<string, string>)['qpipe/job'] === name,
      )!;
      task.polls = pollsBefore;
      const reserved = (await ports.cluster.readBudgetStatus('default', 'lab'))?.reserved;
      expect(reserved).not.toBe('$0.00');

      held.splice(0);
      const deletion = new CloudEvent({ type: EventType.ResourceDeleted, source: 'https://kubernetes', data: object });
      await run.publish([deletion, deletion.cloneWith({ id: crypto.randomUUID() })]);
      await run.settled();
      expect(braket.calls.filter((c) => c === `PUT /quantum-task/${task.arn}/cancel`)).toHaveLength(1);
      // Asked, not confirmed: the money stays reserved.
      expect((await ports.cluster.readBudgetStatus('default', 'lab'))?.reserved).toBe(reserved);

      await run.publish([
        buildEvent(
          EventType.BraketTaskStateChange,
          { quantumTaskArn: task.arn, status: 'CANCELLED' },
          { source: 'aws.braket' },
        ),
      ]);
      await run.settled();
      braket.behaviour.pollsBeforeDone = 1;
      const status = await ports.cluster.readJobStatus('default', name);
      expect(status?.phase).toBe('Failed');
      expect(status?.message).toContain(
        `Braket task CANCELLED (asked while ${pollsBefore === 0 ? 'QUEUED' : 'RUNNING'})`,
      );
      expect(status?.message).toMatch(/because its QiskitJob was deleted at \S+; charged \$[\d.]+$/);
      expect(status?.message?.endsWith(`; charged ${charged}`)).toBe(true);
      const budgetStatus = await ports.cluster.readBudgetStatus('default', 'lab');
      expect(budgetStatus?.reserved).toBe('$0.00');
      expect(budgetStatus?.reservations).toEqual([]);
      await run.bus.close(0);
    },
  );

  it('fails the job, and releases its reservation, when Braket’s event says the task failed', async () => {
    const { run, ports } = await pipeline({ QPIPE_BRAKET_STATE_EVENTS: 'true' });
    braket.behaviour.pollsBeforeDone = 0;
    braket.behaviour.failWith = 'Task exceeded the device time limit';
    await runJob(run, 'evented-fail', GHZ(2), { execution: { shots: 20 } }, 'settled');
    const task = [...braket.tasks.values()].find((t) => t.request['clientToken'] === clientTokenOf('evented-fail'))!;
    await run.publish([
      buildEvent(
        EventType.BraketTaskStateChange,
        { quantumTaskArn: task.arn, status: 'FAILED' },
        { source: 'aws.braket' },
      ),
    ]);
    await run.settled();
    delete braket.behaviour.failWith;
    braket.behaviour.pollsBeforeDone = 1;
    const status = await ports.cluster.readJobStatus('default', 'evented-fail');
    expect(status?.phase).toBe('Failed');
    expect(status?.message).toContain('Braket task FAILED: Task exceeded the device time limit');
    expect((await ports.cluster.readBudgetStatus('default', 'lab'))?.reserved).toBe('$0.00');
    await run.bus.close(0);
  });

  it('fails the job with Braket’s reason when the task fails', async () => {
    const { run, ports } = await pipeline();
    braket.behaviour.failWith = 'Device calibration in progress';
    await runJob(run, 'doomed', GHZ(2), { execution: { shots: 20 } });
    delete braket.behaviour.failWith;
    const status = await ports.cluster.readJobStatus('default', 'doomed');
    expect(status?.phase).toBe('Failed');
    expect(status?.message).toContain('Braket task FAILED: Device calibration in progress');
  });

  it('falls back to the local simulator when the pinned Braket device is offline and the job allows it', async () => {
    braket.devices.get(SV1_ARN)!.status = 'OFFLINE';
    const { run, ports } = await pipeline();
    await runJob(run, 'fallback', GHZ(2), {
      backendSelection: { fallbackToSimulator: true },
      execution: { shots: 20, seedSimulator: 3 },
    });
    braket.devices.get(SV1_ARN)!.status = 'ONLINE';
    expect(await ports.cluster.readJobStatus('default', 'fallback')).toMatchObject({
      phase: 'Succeeded',
      selectedBackend: 'local-simulator',
      fallbackUsed: true,
      originalBackend: 'team-sv1',
    });
  });
});

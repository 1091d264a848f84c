/**
 * The Braket executor at the SDK boundary: the real @aws-sdk/client-braket over HTTP to a
 * loopback stand-in answering as Braket documents (no real Braket can run here), with
 * results.json in a real S3-compatible server (s3rver).
 */
import { BraketClient } from '@aws-sdk/client-braket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendEntry } from '../../shared/backends/backend.ts';
import { createBraketExecutor } from '../../shared/backends/braket/braket-executor.ts';
import { decodeBraketResult } from '../../shared/backends/braket/results.ts';
import { measurementLayout } from '../../shared/backends/measurement-layout.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { retryableOf } from '../support/errors.ts';
import { FREE } from '../../shared/pricing/pricing.ts';
import { compileQasm } from '../../shared/qasm/index.ts';
import { FAKE_DEVICES, type FakeBraket, startFakeBraket } from '../support/fake-braket.ts';
import { type S3TestServer, startS3Server } from '../support/s3-server.ts';

const SV1 = FAKE_DEVICES[0]!.arn;
const FORTE = FAKE_DEVICES[1]!.arn;
const entry = (deviceId: string, extra: Partial<BackendEntry> = {}): BackendEntry => ({
  name: deviceId.split('/').pop() as string,
  type: 'aws_braket',
  deviceId,
  qubits: 34,
  pricing: FREE,
  enabled: true,
  origin: 'builtin',
  ...extra,
});
const job = { namespace: 'lab', name: 'bell', uid: '0b8e6a8e-8a3c-4a43-9f51-1f0b1c2d3e4f', generation: 2 };
const bell = compileQasm(
  'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n',
).circuit;

describe('Braket executor against a Braket stand-in speaking its documented REST API', () => {
  let s3: S3TestServer;
  let braket: FakeBraket;
  let executor: ReturnType<typeof createBraketExecutor>;

  beforeAll(async () => {
    s3 = await startS3Server(['braket-results']);
    braket = await startFakeBraket(s3.client);
    executor = createBraketExecutor({
      client: (region) =>
        new BraketClient({
          endpoint: braket.endpoint,
          region: region ?? 'us-west-2',
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
          maxAttempts: 1,
        }),
      s3: s3.client,
      outputBucket: 'braket-results',
      outputPrefix: 'tasks',
    });
  });
  afterAll(async () => {
    await braket.close();
    await s3.close();
  });

  it('reads status, queue, qubits, gates and shots range from GetDevice', async () => {
    const status = await executor.status!(entry(FORTE));
    expect(status).toMatchObject({ online: true, queueDepth: 12, qubits: 36, shotsRange: [1, 5000] });
    expect(status.supportedGates).toContain('cnot');
    braket.devices.get(FORTE)!.status = 'OFFLINE';
    expect(await executor.status!(entry(FORTE))).toMatchObject({ online: false, detail: 'Braket reports OFFLINE' });
    braket.devices.get(FORTE)!.status = 'ONLINE';
  });

  it('submits once per job run: a duplicate CreateQuantumTask with the same clientToken gets the same task', async () => {
    const request = { job, circuit: bell, shots: 100, backend: entry(SV1) };
    const first = await executor.execute(request);
    const second = await executor.execute(request);
    expect(first.kind).toBe('submitted');
    expect(second).toEqual(first);
    const tasks = [...braket.tasks.values()].filter((t) => t.request['clientToken'] === `${job.uid}-2`);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.request).toMatchObject({
      deviceArn: SV1,
      shots: 100,
      outputS3Bucket: 'braket-results',
      outputS3KeyPrefix: 'tasks/lab/bell',
      tags: { 'qpipe/namespace': 'lab', 'qpipe/job': 'bell', 'qpipe/uid': job.uid },
    });
    expect(JSON.parse(String(tasks[0]!.request['action']))).toMatchObject({
      braketSchemaHeader: { name: 'braket.ir.openqasm.program', version: '1' },
    });
  });

  it('collects: pending while QUEUED or RUNNING, then counts from results.json in S3 and billed simulator time', async () => {
    braket.behaviour.pollsBeforeDone = 2;
    const submitted = await executor.execute({
      job: { ...job, generation: 3 },
      circuit: bell,
      shots: 200,
      backend: entry(SV1),
    });
    if (submitted.kind !== 'submitted') throw new Error('not submitted');
    const task = { taskId: submitted.taskId, backend: entry(SV1), layout: submitted.layout, shots: 200 };
    expect(await executor.collect!(task)).toEqual({ kind: 'pending', status: 'QUEUED' });
    expect(await executor.collect!(task)).toEqual({ kind: 'pending', status: 'RUNNING' });
    const done = await executor.collect!(task);
    if (done.kind !== 'completed') throw new Error(done.kind);
    expect(done.shots).toBe(200);
    expect(Object.keys(done.counts).sort()).toEqual(['00', '11']);
    expect(done.billedSeconds).toBe(1.5);
    expect(done.durationMs).toBe(3000);
    braket.behaviour.pollsBeforeDone = 1;
  });

  it('translates for the device it runs on: IonQ gets no cz, the program still gives the same counts', async () => {
    const ghz = compileQasm(
      'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nh q[0];\ncz q[0], q[1];\ncx q[0], q[2];\n',
    ).circuit;
    const forte = entry(FORTE, { supportedGates: FAKE_DEVICES[1]!.supportedOperations });
    const submitted = await executor.execute({
      job: { ...job, name: 'ghz', generation: 1 },
      circuit: ghz,
      shots: 50,
      backend: forte,
    });
    if (submitted.kind !== 'submitted') throw new Error('not submitted');
    const source = JSON.parse(String(braket.tasks.get(submitted.taskId)!.request['action'])).source as string;
    expect(source).not.toMatch(/\bcz\b/);
    await executor.collect!({ taskId: submitted.taskId, backend: forte, layout: submitted.layout, shots: 50 });
    const done = await executor.collect!({
      taskId: submitted.taskId,
      backend: forte,
      layout: submitted.layout,
      shots: 50,
    });
    if (done.kind !== 'completed') throw new Error(done.kind);
    // h then cz leaves q1 at 0; cx copies q0 to q2: outcomes q2q1q0 = 000 or 101 (the implicit meas register).
    expect(Object.keys(done.counts).sort()).toEqual(['000', '101']);
    expect(done.billedSeconds).toBe(0);
  });

  it('maps Throttling and ServiceQuotaExceeded to retries and ValidationException to a final failure', async () => {
    const request = { job: { ...job, generation: 9 }, circuit: bell, shots: 10, backend: entry(SV1) };
    for (const [type, status, retry] of [
      ['ThrottlingException', 429, true],
      ['ServiceQuotaExceededException', 402, true],
      ['InternalServiceException', 500, true],
      ['ValidationException', 400, false],
      ['AccessDeniedException', 403, false],
    ] as const) {
      braket.behaviour.createErrors.push({ type, status, message: `${type} from the stand-in` });
      const error = await executor.execute(request).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, type).toBeInstanceOf(Error);
      expect((error as Error).message, type).toContain(`Braket CreateQuantumTask: ${type}`);
      expect(retryableOf(error), type).toBe(retry);
      if (!retry) expect(error, type).toBeInstanceOf(InvalidInputError);
    }
  });

  it('treats an offline device as retryable and reports a failed task with its reason', async () => {
    braket.devices.get(FORTE)!.status = 'OFFLINE';
    const forte = entry(FORTE);
    const offline = await executor
      .execute({ job: { ...job, generation: 10 }, circuit: bell, shots: 10, backend: forte })
      .catch((e: unknown) => e);
    expect((offline as Error).message).toContain('DeviceOfflineException');
    expect(retryableOf(offline)).toBe(true);
    braket.devices.get(FORTE)!.status = 'ONLINE';

    braket.behaviour.failWith = 'Circuit depth exceeds the device limit';
    const submitted = await executor.execute({
      job: { ...job, generation: 11 },
      circuit: bell,
      shots: 10,
      backend: forte,
    });
    if (submitted.kind !== 'submitted') throw new Error('not submitted');
    const task = { taskId: submitted.taskId, backend: forte, layout: submitted.layout, shots: 10 };
    await executor.collect!(task);
    expect(await executor.collect!(task)).toEqual({
      kind: 'failed',
      reason: 'Braket task FAILED: Circuit depth exceeds the device limit',
    });
    delete braket.behaviour.failWith;
  });
});

describe('Braket results.json decoding (documented gate_model_task_result shape)', () => {
  // Two registers: a[1] holds qubit 2, b[2] holds qubits 0 and 1 in reverse.
  const circuit = compileQasm(
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg a[1];\ncreg b[2];\nx q[0];\nx q[2];\nmeasure q[2] -> a[0];\nmeasure q[0] -> b[1];\nmeasure q[1] -> b[0];\n',
  ).circuit;
  const layout = measurementLayout(circuit, 'test');
  const task = { taskId: 'arn', backend: entry(SV1), layout, shots: 3 };

  it('reads Braket order (measuredQubits, qubit 0 first) into Qiskit order (last register first, bit 0 rightmost)', () => {
    // Braket: one row per shot, columns in measuredQubits order [0, 1, 2].
    const state = decodeBraketResult(
      {
        braketSchemaHeader: { name: 'braket.task_result.gate_model_task_result', version: '1' },
        measurements: [
          [1, 0, 1],
          [1, 0, 1],
          [0, 1, 0],
        ],
        measuredQubits: [0, 1, 2],
        taskMetadata: { id: 'arn', shots: 3, deviceId: SV1 },
      },
      task,
    );
    // Shot 1: q0=1,q1=0,q2=1 → b = (b1=q0=1, b0=q1=0) "10", a = "1" → "10 1".
    expect(state).toMatchObject({ kind: 'completed', shots: 3, counts: { '10 1': 2, '01 0': 1 } });
  });

  it('scales measurementProbabilities when a device reports no per-shot measurements', () => {
    const state = decodeBraketResult(
      { measurementProbabilities: { '101': 0.5, '010': 0.5 }, measuredQubits: [0, 1, 2], taskMetadata: { shots: 4 } },
      task,
    );
    expect(state).toMatchObject({ kind: 'completed', shots: 4, counts: { '10 1': 2, '01 0': 2 } });
  });

  it('names what is missing from a malformed result', () => {
    expect(() => decodeBraketResult({ measurements: [[0]] }, task)).toThrow(
      /Braket results\.json of arn is invalid:\n {2}measuredQubits: is required/,
    );
    expect(() => decodeBraketResult({ measurements: [[2]], measuredQubits: [0] }, task)).toThrow(
      /measurements\[0\]\[0\]: must be at most 1 \(got 2\)/,
    );
    expect(() => decodeBraketResult({ measurements: [[0, 0]], measuredQubits: [0, 1] }, task)).toThrow(
      'measuredQubits: the result has no readout of qubit 2',
    );
  });
});

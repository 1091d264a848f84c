/**
 * A stand-in for Amazon Braket's REST API on loopback, for tests at the SDK boundary (no
 * real Braket can run here): the real @aws-sdk/client-braket talks to it over HTTP, and
 * it answers in the shapes Braket documents (GetDevice with deviceCapabilities as a JSON
 * string and deviceQueueInfo; CreateQuantumTask idempotent on clientToken; GetQuantumTask
 * moving QUEUED → RUNNING → COMPLETED; CancelQuantumTask making it CANCELLED; errors as restJson1 with x-amzn-ErrorType).
 * Completed tasks write results.json (braket.task_result.gate_model_task_result) into a
 * real S3-compatible server, with per-shot measurements sampled by running the submitted
 * program on qpipe's simulator (Braket's gate names defined from the standard library).
 * https://docs.aws.amazon.com/braket/latest/APIReference/API_Operations.html
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { compileQasm } from '../../shared/qasm/index.ts';
import { simulate } from '../../shared/simulator/run.ts';
import { runnableBraketSource } from './braket-prelude.ts';

/** One device the fake knows. */
export interface FakeDevice {
  readonly arn: string;
  status: 'ONLINE' | 'OFFLINE' | 'RETIRED';
  queueSize: number;
  readonly qubits: number;
  readonly supportedOperations: readonly string[];
  readonly shotsRange: readonly [number, number];
  /** Simulators report executionDuration (billed time); QPUs do not. */
  readonly simulator: boolean;
}

/** A task as the fake keeps it. */
export interface FakeTask {
  readonly arn: string;
  readonly request: Record<string, unknown>;
  /** GetQuantumTask calls answered so far. */
  polls: number;
  /** Set by CancelQuantumTask: the task answers CANCELLED from then on. */
  cancelled?: boolean;
}

/** How the fake behaves; tests change it between calls. */
export interface FakeBraketBehaviour {
  /** Error the next CreateQuantumTask calls answer with, one per call. */
  createErrors: { type: string; status: number; message: string }[];
  /** GetQuantumTask calls that answer QUEUED/RUNNING before COMPLETED. */
  pollsBeforeDone: number;
  /** When set, tasks end FAILED with this reason. */
  failWith?: string;
}

/** The running fake. */
export interface FakeBraket {
  readonly endpoint: string;
  readonly devices: Map<string, FakeDevice>;
  readonly tasks: Map<string, FakeTask>;
  readonly behaviour: FakeBraketBehaviour;
  /** Every request as method and path, in order. */
  readonly calls: string[];
  close(): Promise<void>;
}

/** Braket's simulator and QPU entries as GetDevice describes them. */
export const FAKE_DEVICES: readonly FakeDevice[] = [
  {
    arn: 'arn:aws:braket:::device/quantum-simulator/amazon/sv1',
    status: 'ONLINE',
    queueSize: 0,
    qubits: 34,
    supportedOperations: [
      'ccnot',
      'cnot',
      'cphaseshift',
      'cswap',
      'cy',
      'cz',
      'h',
      'i',
      'iswap',
      'phaseshift',
      'rx',
      'ry',
      'rz',
      's',
      'si',
      'swap',
      't',
      'ti',
      'v',
      'vi',
      'x',
      'xx',
      'y',
      'yy',
      'z',
      'zz',
    ],
    shotsRange: [0, 100000],
    simulator: true,
  },
  {
    arn: 'arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1',
    status: 'ONLINE',
    queueSize: 12,
    qubits: 36,
    supportedOperations: [
      'x',
      'y',
      'z',
      'rx',
      'ry',
      'rz',
      'h',
      'cnot',
      's',
      'si',
      't',
      'ti',
      'v',
      'vi',
      'xx',
      'yy',
      'zz',
      'swap',
    ],
    shotsRange: [1, 5000],
    simulator: false,
  },
];

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    ...(errorType ? { 'x-amzn-ErrorType': `${errorType}:http://internal.amazon.com/coral/com.amazon.braket/` } : {}),
  });
  res.end(JSON.stringify(body));
}

async function bodyOf(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
}

function getDevice(device: FakeDevice): unknown {
  return {
    deviceArn: device.arn,
    deviceName: device.arn.split('/').pop(),
    providerName: device.simulator ? 'Amazon Braket' : 'IonQ',
    deviceType: device.simulator ? 'SIMULATOR' : 'QPU',
    deviceStatus: device.status,
    deviceCapabilities: JSON.stringify({
      braketSchemaHeader: {
        name: 'braket.device_schema.simulators.gate_model_simulator_device_capabilities',
        version: '1',
      },
      service: {
        shotsRange: device.shotsRange,
        executionWindows: [{ executionDay: 'Everyday', windowStartHour: '00:00', windowEndHour: '23:59:59' }],
      },
      action: {
        'braket.ir.openqasm.program': {
          actionType: 'braket.ir.openqasm.program',
          version: ['1'],
          supportedOperations: device.supportedOperations,
        },
      },
      paradigm: { qubitCount: device.qubits },
    }),
    deviceQueueInfo: [
      { queue: 'QUANTUM_TASKS_QUEUE', queueSize: String(device.queueSize), queuePriority: 'Normal' },
      { queue: 'QUANTUM_TASKS_QUEUE', queueSize: '0', queuePriority: 'Priority' },
      { queue: 'JOBS_QUEUE', queueSize: '0' },
    ],
  };
}

/** Runs the program and writes results.json as Braket does, under outputS3KeyPrefix/<task id>/. */
async function writeResults(task: FakeTask, s3: S3Client, device: FakeDevice | undefined): Promise<void> {
  const request = task.request;
  const action = JSON.parse(String(request['action'])) as { source: string };
  const { circuit } = compileQasm(runnableBraketSource(action.source));
  const shots = Number(request['shots']);
  const result = await simulate(circuit, { shots, seed: 7, threads: 1 });
  // Which qubit each bit of `c` holds, from the program's `c[b] = measure q[j];` lines.
  const clbitQubit = new Map<number, number>();
  for (const m of action.source.matchAll(/c\[(\d+)\] = measure q\[(\d+)\];/g))
    clbitQubit.set(Number(m[1]), Number(m[2]));
  const measuredQubits = [...new Set(clbitQubit.values())].sort((a, b) => a - b);
  const measurements: number[][] = [];
  for (const [key, count] of Object.entries(result.counts)) {
    const bits = key.replaceAll(' ', '');
    const row = measuredQubits.map((q) => {
      const b = [...clbitQubit].find(([, qubit]) => qubit === q)?.[0] as number;
      return Number(bits[bits.length - 1 - b]);
    });
    for (let i = 0; i < count; i++) measurements.push(row);
  }
  const id = task.arn.split('/').pop();
  const document = {
    braketSchemaHeader: { name: 'braket.task_result.gate_model_task_result', version: '1' },
    measurements,
    measuredQubits,
    taskMetadata: {
      braketSchemaHeader: { name: 'braket.task_result.task_metadata', version: '1' },
      id: task.arn,
      shots,
      deviceId: request['deviceArn'],
      createdAt: '2026-11-26T10:00:01.000Z',
      endedAt: '2026-11-26T10:00:04.000Z',
      status: 'COMPLETED',
    },
    additionalMetadata: {
      action: { braketSchemaHeader: { name: 'braket.ir.openqasm.program', version: '1' }, source: action.source },
      ...(device?.simulator === false
        ? {}
        : {
            simulatorMetadata: {
              braketSchemaHeader: { name: 'braket.task_result.simulator_metadata', version: '1' },
              executionDuration: 1500,
            },
          }),
    },
  };
  await s3.send(
    new PutObjectCommand({
      Bucket: String(request['outputS3Bucket']),
      Key: `${String(request['outputS3KeyPrefix'])}/${id}/results.json`,
      Body: JSON.stringify(document),
    }),
  );
}

/** Starts the fake; results go to the S3 server behind `s3`. */
export async function startFakeBraket(s3: S3Client): Promise<FakeBraket> {
  const devices = new Map(FAKE_DEVICES.map((d) => [d.arn, { ...d }]));
  const tasks = new Map<string, FakeTask>();
  const byToken = new Map<string, string>();
  const behaviour: FakeBraketBehaviour = { createErrors: [], pollsBeforeDone: 1 };
  const calls: string[] = [];
  let next = 1;

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      calls.push(`${req.method} ${path}`);
      if (req.method === 'GET' && path.startsWith('/device/')) {
        const device = devices.get(path.slice('/device/'.length));
        if (!device) {
          send(res, 404, { message: 'Braket device not found' }, 'ResourceNotFoundException');
          return;
        }
        send(res, 200, getDevice(device));
        return;
      }
      if (req.method === 'POST' && path === '/quantum-task') {
        const request = await bodyOf(req);
        const failure = behaviour.createErrors.shift();
        if (failure) {
          send(res, failure.status, { message: failure.message }, failure.type);
          return;
        }
        const device = devices.get(String(request['deviceArn']));
        if (!device) {
          send(res, 400, { message: 'Device ARN is not valid' }, 'ValidationException');
          return;
        }
        if (device.status === 'OFFLINE') {
          send(res, 424, { message: 'Device is offline' }, 'DeviceOfflineException');
          return;
        }
        const token = String(request['clientToken']);
        let arn = byToken.get(token);
        if (!arn) {
          const region = /^arn:aws:braket:([a-z0-9-]*):/.exec(device.arn)?.[1] || 'us-east-1';
          arn = `arn:aws:braket:${region}:123456789012:quantum-task/00000000-0000-4000-8000-${String(next++).padStart(12, '0')}`;
          byToken.set(token, arn);
          tasks.set(arn, { arn, request, polls: 0 });
        }
        send(res, 201, { quantumTaskArn: arn });
        return;
      }
      const cancelling = /^\/quantum-task\/(.+)\/cancel$/.exec(path);
      if (req.method === 'PUT' && cancelling) {
        // https://docs.aws.amazon.com/braket/latest/APIReference/API_CancelQuantumTask.html
        const task = tasks.get(cancelling[1] as string);
        if (!task) {
          send(res, 404, { message: 'Quantum task not found' }, 'ResourceNotFoundException');
          return;
        }
        task.cancelled = true;
        send(res, 200, { quantumTaskArn: task.arn, cancellationStatus: 'CANCELLING' });
        return;
      }
      if (req.method === 'GET' && path.startsWith('/quantum-task/')) {
        const task = tasks.get(path.slice('/quantum-task/'.length));
        if (!task) {
          send(res, 404, { message: 'Quantum task not found' }, 'ResourceNotFoundException');
          return;
        }
        task.polls++;
        const done = task.polls > behaviour.pollsBeforeDone;
        const status = task.cancelled
          ? 'CANCELLED'
          : !done
            ? task.polls === 1
              ? 'QUEUED'
              : 'RUNNING'
            : behaviour.failWith
              ? 'FAILED'
              : 'COMPLETED';
        if (status === 'COMPLETED' && task.polls === behaviour.pollsBeforeDone + 1) {
          await writeResults(task, s3, devices.get(String(task.request['deviceArn'])));
        }
        const id = task.arn.split('/').pop();
        send(res, 200, {
          quantumTaskArn: task.arn,
          status,
          ...(status === 'FAILED' ? { failureReason: behaviour.failWith } : {}),
          deviceArn: task.request['deviceArn'],
          shots: task.request['shots'],
          outputS3Bucket: task.request['outputS3Bucket'],
          outputS3Directory: `${String(task.request['outputS3KeyPrefix'])}/${id}`,
          createdAt: '2026-11-26T10:00:01.000Z',
          ...(done || task.cancelled ? { endedAt: '2026-11-26T10:00:04.000Z' } : {}),
          tags: task.request['tags'],
        });
        return;
      }
      send(res, 404, { message: `no route ${req.method} ${path}` }, 'ResourceNotFoundException');
    })().catch((error: unknown) => send(res, 500, { message: String(error) }, 'InternalServiceException'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    devices,
    tasks,
    behaviour,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

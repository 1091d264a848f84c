/**
 * Amazon Braket as a backend: device status from GetDevice, tasks created with a
 * clientToken derived from the job (a duplicate event never submits twice), and results
 * read from the task's results.json in S3.
 * https://docs.aws.amazon.com/braket/latest/APIReference/API_CreateQuantumTask.html
 */
import { createHash } from 'node:crypto';
import type { BraketClient } from '@aws-sdk/client-braket';
import {
  BraketServiceException,
  CancelQuantumTaskCommand,
  CreateQuantumTaskCommand,
  GetDeviceCommand,
  GetQuantumTaskCommand,
} from '@aws-sdk/client-braket';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Type } from '@sinclair/typebox';
import { checkSchema } from '../../resources/validate.ts';
import { InvalidInputError, PermanentError, TransientError } from '../../errors.ts';
import type {
  BackendEntry,
  BackendExecutor,
  DeviceStatus,
  ExecutionOutcome,
  ExecutionRequest,
  ProviderTask,
  TaskState,
} from '../backend.ts';
import { BRAKET_SIMULATOR_GATES, braketProgram } from './program.ts';
import { decodeBraketResult } from './results.ts';

/** Settings of the Braket executor. */
export interface BraketSettings {
  /** Builds a client for a region (QPUs answer only in their own region). */
  readonly client: (region: string | undefined) => BraketClient;
  /** Reads results.json from the task's output bucket. */
  readonly s3: S3Client;
  /** Bucket for task results; `{region}` is replaced by the device's region. */
  readonly outputBucket: string;
  readonly outputPrefix: string;
}

/** The region in a device ARN (`arn:aws:braket:us-east-1::device/...`), empty for the on-demand simulators. */
export function deviceRegion(arn: string): string | undefined {
  return /^arn:aws:braket:([a-z0-9-]*):/.exec(arn)?.[1] || undefined;
}

/** The tags qpipe puts on each task (the stack's IAM allows CreateQuantumTask with these keys only). */
export function taskTags(job: { namespace: string; name: string; uid: string }): Record<string, string> {
  return { 'qpipe/namespace': job.namespace, 'qpipe/job': job.name, 'qpipe/uid': job.uid };
}

/** The clientToken of a job's task: one task per job uid and generation. */
export function clientToken(job: { uid: string; generation: number }): string {
  return `${job.uid}-${job.generation}`.slice(0, 64);
}

const RETRYABLE = new Set([
  'ThrottlingException',
  'ServiceQuotaExceededException',
  'InternalServiceException',
  'DeviceOfflineException',
]);

/** Braket's errors as qpipe's: transient ones are retried by the bus, the rest fail the job with Braket's words. */
export function braketError(error: unknown, action: string): Error {
  if (!(error instanceof BraketServiceException)) return error instanceof Error ? error : new Error(String(error));
  const message = `Braket ${action}: ${error.name}: ${error.message}`;
  if (RETRYABLE.has(error.name) || (error.$metadata.httpStatusCode ?? 0) >= 500) {
    return new TransientError(message, { cause: error });
  }
  return new InvalidInputError('backend', message, { cause: error });
}

function deviceArn(backend: BackendEntry): string {
  if (!backend.deviceId) throw new InvalidInputError('backend', `${backend.name} has no Braket device ARN (deviceId)`);
  return backend.deviceId;
}

/** The parts of a device's capabilities document qpipe reads (others pass). */
const DeviceCapabilities = Type.Object({
  service: Type.Optional(
    Type.Object({
      shotsRange: Type.Optional(Type.Tuple([Type.Integer({ minimum: 0 }), Type.Integer({ minimum: 0 })])),
    }),
  ),
  action: Type.Optional(
    Type.Record(Type.String(), Type.Object({ supportedOperations: Type.Optional(Type.Array(Type.String())) })),
  ),
  paradigm: Type.Optional(Type.Object({ qubitCount: Type.Optional(Type.Integer({ minimum: 1 })) })),
});

/** Braket's task states before a task runs: cancelling it then bills nothing. */
const QUEUED_STATES = new Set(['CREATED', 'QUEUED']);

/** Creates the Braket executor. */
export function createBraketExecutor(settings: BraketSettings): BackendExecutor {
  const clientFor = (arn: string) => settings.client(deviceRegion(arn));

  return {
    type: 'aws_braket',

    async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
      const { backend, job } = request;
      const arn = deviceArn(backend);
      const program = braketProgram(request.circuit, new Set(backend.supportedGates ?? BRAKET_SIMULATOR_GATES));
      const region = deviceRegion(arn) ?? (await clientFor(arn).config.region());
      try {
        const response = await clientFor(arn).send(
          new CreateQuantumTaskCommand({
            action: program.action,
            clientToken: clientToken(job),
            deviceArn: arn,
            shots: request.shots,
            outputS3Bucket: settings.outputBucket.replaceAll('{region}', region),
            outputS3KeyPrefix: [settings.outputPrefix, job.namespace, job.name].filter(Boolean).join('/'),
            tags: taskTags(job),
          }),
        );
        if (!response.quantumTaskArn) throw new PermanentError('Braket CreateQuantumTask returned no task ARN');
        return { kind: 'submitted', taskId: response.quantumTaskArn, layout: program.layout };
      } catch (error) {
        throw braketError(error, 'CreateQuantumTask');
      }
    },

    async status(backend: BackendEntry): Promise<DeviceStatus> {
      const arn = deviceArn(backend);
      try {
        const device = await clientFor(arn).send(new GetDeviceCommand({ deviceArn: arn }));
        const capabilities = checkSchema(
          DeviceCapabilities,
          JSON.parse(String(device.deviceCapabilities ?? '{}')),
          `Braket's capabilities of ${arn}`,
        );
        const openqasm = capabilities.action?.['braket.ir.openqasm.program'];
        const queue = device.deviceQueueInfo?.find(
          (q) => q.queue === 'QUANTUM_TASKS_QUEUE' && (q.queuePriority ?? 'Normal') === 'Normal',
        );
        const shotsRange = capabilities.service?.shotsRange;
        const qubits = capabilities.paradigm?.qubitCount;
        return {
          online: device.deviceStatus === 'ONLINE',
          ...(queue?.queueSize === undefined ? {} : { queueDepth: Number(queue.queueSize) }),
          ...(qubits === undefined ? {} : { qubits }),
          ...(openqasm?.supportedOperations ? { supportedGates: openqasm.supportedOperations } : {}),
          ...(shotsRange ? { shotsRange } : {}),
          ...(device.deviceStatus === 'ONLINE' ? {} : { detail: `Braket reports ${device.deviceStatus}` }),
        };
      } catch (error) {
        throw braketError(error, 'GetDevice');
      }
    },

    async cancel(task: ProviderTask): Promise<{ asked: boolean; stateWhenAsked: string }> {
      const client = clientFor(task.taskId);
      try {
        const { status } = await client.send(new GetQuantumTaskCommand({ quantumTaskArn: task.taskId }));
        const stateWhenAsked = status ?? 'UNKNOWN';
        // Ended, or being cancelled (by another delivery of the deletion): nothing to ask.
        if (['COMPLETED', 'FAILED', 'CANCELLING', 'CANCELLED'].includes(stateWhenAsked)) {
          return { asked: false, stateWhenAsked };
        }
        await client.send(
          new CancelQuantumTaskCommand({
            quantumTaskArn: task.taskId,
            // At most 64 characters, one per task: a hash of its ARN.
            clientToken: createHash('sha256').update(`cancel ${task.taskId}`).digest('hex').slice(0, 64),
          }),
        );
        return { asked: true, stateWhenAsked };
      } catch (error) {
        throw braketError(error, 'CancelQuantumTask');
      }
    },

    async collect(task: ProviderTask): Promise<TaskState> {
      let state;
      try {
        state = await clientFor(task.taskId).send(new GetQuantumTaskCommand({ quantumTaskArn: task.taskId }));
      } catch (error) {
        throw braketError(error, 'GetQuantumTask');
      }
      if (state.status === 'CANCELLED') {
        // Braket bills a task that had started running; one cancelled while queued costs nothing.
        // Cancelled by someone else, qpipe cannot tell, so it counts the task as run.
        const ran = task.cancelledWhile === undefined || !QUEUED_STATES.has(task.cancelledWhile);
        return {
          kind: 'cancelled',
          reason: `Braket task CANCELLED${task.cancelledWhile ? ` (asked while ${task.cancelledWhile})` : ''}`,
          billedShots: ran ? task.shots : 0,
          billedSeconds: 0,
        };
      }
      if (state.status === 'FAILED') {
        return { kind: 'failed', reason: `Braket task ${state.status}: ${state.failureReason ?? 'no reason given'}` };
      }
      if (state.status !== 'COMPLETED') return { kind: 'pending', status: state.status ?? 'UNKNOWN' };
      const key = `${(state.outputS3Directory ?? '').replace(/\/+$/, '')}/results.json`;
      const object = await settings.s3.send(new GetObjectCommand({ Bucket: state.outputS3Bucket, Key: key }));
      const body = await object.Body?.transformToString();
      if (!body) throw new TransientError(`Braket results s3://${state.outputS3Bucket}/${key} are empty`);
      return decodeBraketResult(JSON.parse(body), task, {
        createdAt: state.createdAt,
        endedAt: state.endedAt,
      });
    },
  };
}

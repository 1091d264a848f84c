/**
 * IBM Quantum as a backend, over the REST API: backend status and queue, sampler jobs
 * with the circuit as an OpenQASM 3 PUB, and per-shot hex samples counted client-side.
 * Jobs are tagged with the job's uid and generation, and a tagged job that already exists
 * is reused, so a duplicate event never submits twice.
 * https://quantum.cloud.ibm.com/docs/en/guides/sampler-rest-api
 */
import { InvalidInputError, QpipeError } from '../../errors.ts';
import type {
  BackendEntry,
  BackendExecutor,
  DeviceStatus,
  ExecutionOutcome,
  ExecutionRequest,
  ProviderTask,
  SessionOptions,
  TaskState,
} from '../backend.ts';
import { countsFromRegisterSamples } from '../measurement-layout.ts';
import { type IbmClient, IbmHttpError } from './ibm-client.ts';
import { ibmProgram } from './isa-program.ts';
import { BackendConfiguration, BackendStatus, Job, JobList, JobMetrics, SamplerResults, Session } from './responses.ts';

/** The tag that names a job's run, for finding a submission made before a crash or duplicate. */
export function runTag(job: { uid: string; generation: number }): string {
  return `qpipe-run:${job.uid}:${job.generation}`;
}

function deviceName(backend: BackendEntry): string {
  return backend.deviceId ?? backend.name;
}

/** IBM's errors as qpipe's: 429 and 5xx are retried, the rest fail the job with IBM's words. */
function ibmError(error: unknown): Error {
  if (error instanceof IbmHttpError && !error.retryable)
    return new InvalidInputError('backend', error.message, { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}

/** How long a device's live coupling map and basis are trusted before they are read again. */
export const CONFIGURATION_TTL_MS = 60 * 60 * 1000;

/** Creates the IBM Quantum executor. */
export function createIbmExecutor(client: IbmClient, now: () => number = Date.now): BackendExecutor {
  const configurations = new Map<string, { readAt: number; device: Partial<BackendEntry> }>();

  /**
   * The device as IBM describes it now (qubits, basis gates, coupling map), read at most
   * hourly; a QiskitBackend's own connectivity wins, and without an answer the shipped
   * device data stands.
   */
  async function liveDevice(backend: BackendEntry): Promise<BackendEntry> {
    if (backend.connectivity) return backend;
    const name = deviceName(backend);
    let cached = configurations.get(name);
    if (!cached || now() - cached.readAt > CONFIGURATION_TTL_MS) {
      try {
        const config = await client.request(
          'GET',
          `/v1/backends/${encodeURIComponent(name)}/configuration`,
          BackendConfiguration,
        );
        const device: Partial<BackendEntry> = {
          ...(config.n_qubits === undefined ? {} : { qubits: config.n_qubits }),
          ...(config.basis_gates === undefined ? {} : { supportedGates: config.basis_gates }),
          ...(config.coupling_map === undefined ? {} : { connectivity: config.coupling_map }),
        };
        cached = { readAt: now(), device };
        configurations.set(name, cached);
      } catch (error) {
        if (error instanceof IbmHttpError && error.retryable) throw ibmError(error);
        return backend;
      }
    }
    return { ...backend, ...cached.device };
  }

  return {
    type: 'ibm_quantum',

    async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
      const { job } = request;
      const backend = await liveDevice(request.backend);
      const program = ibmProgram(request.circuit, backend, request.optimizationLevel);
      const tag = runTag(job);
      try {
        const existing = await client.request('GET', `/v1/jobs?tags=${encodeURIComponent(tag)}&limit=1`, JobList);
        const previous = existing.jobs?.[0];
        if (previous) return { kind: 'submitted', taskId: previous.id, layout: program.layout };
        await client.submissionSlot();
        const created = await client.request('POST', '/v1/jobs', Job, {
          program_id: 'sampler',
          backend: deviceName(backend),
          tags: [tag, `qpipe-namespace:${job.namespace}`],
          params: { pubs: [[program.source, null, request.shots]], version: 2 },
          ...(request.sessionId === undefined ? {} : { session_id: request.sessionId }),
        });
        return { kind: 'submitted', taskId: created.id, layout: program.layout };
      } catch (error) {
        throw ibmError(error);
      }
    },

    async openSession(backend: BackendEntry, options: SessionOptions): Promise<string> {
      try {
        const session = await client.request('POST', '/v1/sessions', Session, {
          backend: deviceName(backend),
          mode: options.mode,
          max_ttl: options.maxTimeSeconds,
        });
        return session.id;
      } catch (error) {
        throw ibmError(error);
      }
    },

    async closeSession(_backend: BackendEntry, sessionId: string): Promise<void> {
      try {
        await client.send('DELETE', `/v1/sessions/${encodeURIComponent(sessionId)}/close`);
      } catch (error) {
        // Closed already, or gone: the session is closed either way.
        if (error instanceof IbmHttpError && (error.status === 404 || error.status === 409)) return;
        throw ibmError(error);
      }
    },

    async sessionAcceptsJobs(_backend: BackendEntry, sessionId: string): Promise<boolean> {
      try {
        const session = await client.request('GET', `/v1/sessions/${encodeURIComponent(sessionId)}`, Session);
        return session.state !== 'closed' && session.accepting_jobs !== false;
      } catch (error) {
        if (error instanceof IbmHttpError && error.status === 404) return false;
        throw ibmError(error);
      }
    },

    async status(backend: BackendEntry): Promise<DeviceStatus> {
      try {
        const status = await client.request(
          'GET',
          `/v1/backends/${encodeURIComponent(deviceName(backend))}/status`,
          BackendStatus,
        );
        const online = status.state === true && (status.status ?? 'active') === 'active';
        return {
          online,
          ...(status.length_queue === undefined ? {} : { queueDepth: status.length_queue }),
          ...(online
            ? {}
            : { detail: `IBM reports ${status.status ?? 'not active'}${status.message ? `: ${status.message}` : ''}` }),
        };
      } catch (error) {
        throw ibmError(error);
      }
    },

    async cancel(task: ProviderTask): Promise<{ asked: boolean; stateWhenAsked: string }> {
      const id = encodeURIComponent(task.taskId);
      try {
        const job = await client.request('GET', `/v1/jobs/${id}`, Job);
        const stateWhenAsked = job.state?.status ?? job.status ?? 'Unknown';
        if (['Completed', 'Failed', 'Cancelled'].includes(stateWhenAsked)) return { asked: false, stateWhenAsked };
        await client.send('POST', `/v1/jobs/${id}/cancel`);
        return { asked: true, stateWhenAsked };
      } catch (error) {
        // Ended meanwhile: there is nothing left to cancel.
        if (error instanceof IbmHttpError && error.status === 409) return { asked: false, stateWhenAsked: 'Ended' };
        throw ibmError(error);
      }
    },

    async collect(task: ProviderTask): Promise<TaskState> {
      try {
        const id = encodeURIComponent(task.taskId);
        const job = await client.request('GET', `/v1/jobs/${id}`, Job);
        const status = job.state?.status ?? job.status ?? 'Unknown';
        if (status === 'Cancelled') {
          // IBM bills the quantum seconds a job used before it was cancelled.
          const metrics = await client.request('GET', `/v1/jobs/${id}/metrics`, JobMetrics);
          return {
            kind: 'cancelled',
            reason: `IBM job Cancelled${task.cancelledWhile ? ` (asked while ${task.cancelledWhile})` : ''}`,
            billedShots: 0,
            billedSeconds: metrics.usage?.quantum_seconds ?? metrics.usage?.seconds ?? 0,
          };
        }
        if (status === 'Failed') {
          return { kind: 'failed', reason: `IBM job ${status}: ${job.state?.reason ?? 'no reason given'}` };
        }
        if (status !== 'Completed') return { kind: 'pending', status };
        const [results, metrics] = await Promise.all([
          client.request('GET', `/v1/jobs/${id}/results`, SamplerResults),
          client.request('GET', `/v1/jobs/${id}/metrics`, JobMetrics),
        ]);
        const data = results.results?.[0]?.data;
        if (!data) throw new QpipeError(`IBM job ${task.taskId} has no sampler results`);
        const samples = Object.fromEntries(Object.entries(data).map(([name, field]) => [name, field.samples ?? []]));
        const counts = countsFromRegisterSamples(samples, task.layout);
        const started = Date.parse(metrics.timestamps?.running ?? metrics.timestamps?.created ?? '');
        const finished = Date.parse(metrics.timestamps?.finished ?? '');
        return {
          kind: 'completed',
          counts,
          shots: Object.values(counts).reduce((a, b) => a + b, 0),
          durationMs: Number.isNaN(started) || Number.isNaN(finished) ? 0 : Math.max(0, finished - started),
          billedSeconds: metrics.usage?.quantum_seconds ?? metrics.usage?.seconds ?? 0,
        };
      } catch (error) {
        throw ibmError(error);
      }
    },
  };
}

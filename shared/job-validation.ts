/**
 * validate's decisions, apart from its I/O: which events carry a job to check, the job's
 * identity (even when its manifest is bad, so it can be rejected by name), and whether its
 * circuit may run here (OpenQASM, limits, memory of a pinned simulator). The stage loads
 * the circuit, stores a large one, and publishes.
 */
import { analyzeOffThread, CircuitCheckError } from './qasm/analyze-off-thread.ts';
import { deterministicId, type TypedEvent } from '../events/envelope.ts';
import type { JobRef } from '../events/schemas.ts';
import { EventType } from '../events/types.ts';
import { RESTORED_ANNOTATION } from './backup/restored.ts';
import type { QpipeConfig } from './config.ts';
import { InvalidInputError } from './errors.ts';
import { analyzeQasm, mayTakeAWhile, QasmLimitError } from './qasm/index.ts';
import { isRecord } from './records.ts';
import { generationObserved, objectIdentity, userManifestOf } from './resources/kubernetes-object.ts';
import type { CircuitMetadata, QiskitJob } from './resources/schema.ts';
import { memoryShortfall } from './simulator/memory.ts';

/** The events validate subscribes to. */
type Request = TypedEvent<
  typeof EventType.JobRequested | typeof EventType.ResourceAdded | typeof EventType.ResourceUpdated
>;

/**
 * The job's identity, taken even from a manifest that fails validation, so it can be rejected by name.
 * An object the API server sent keeps the API server's uid (checked against the cluster before
 * it counts). A directly published request never chooses its uid: qpipe derives it from the
 * namespace, name and generation and either the requester's run token (a uid it sent) or the
 * spec, so a resent request is the same job, and no request can take another job's uid.
 */
export function jobRefOf(
  manifest: Record<string, unknown>,
  options: { readonly from: 'platform' | 'request'; readonly runToken?: string | undefined },
): JobRef {
  const metadata = isRecord(manifest['metadata']) ? manifest['metadata'] : {};
  const text = (value: unknown, fallback: string) => (typeof value === 'string' && value !== '' ? value : fallback);
  const namespace = text(metadata['namespace'], 'default');
  const name = text(metadata['name'], 'unnamed');
  const generation = typeof metadata['generation'] === 'number' ? metadata['generation'] : 1;
  const derived = () => {
    const token = options.runToken ?? (typeof metadata['uid'] === 'string' ? metadata['uid'] : undefined);
    const what = token === undefined ? ['spec', JSON.stringify(manifest['spec'] ?? null)] : ['run', token];
    return deterministicId(['request', namespace, name, generation, ...what]);
  };
  const uid = options.from === 'platform' ? text(metadata['uid'], derived()) : derived();
  return { namespace, name, uid, generation };
}

/**
 * Extracts the job manifest of an incoming event, or undefined when there is nothing to
 * validate: events about other kinds, generations already handled, and jobs `qpipe
 * restore` brought back (they ran before the backup).
 */
export function manifestOf(event: Request): Record<string, unknown> | undefined {
  if (event.type === EventType.JobRequested) return event.data.job;
  if (event.data['kind'] !== 'QiskitJob' || generationObserved(event.data)) return undefined;
  const annotations = objectIdentity(event.data)?.metadata.annotations;
  return annotations?.[RESTORED_ANNOTATION] === undefined ? userManifestOf(event.data) : undefined;
}

/**
 * The facts of a job's circuit, if it may run here: parsed and within the limits, and
 * within the built-in simulator's memory when the job is pinned to it (other jobs are
 * routed by selection, which leaves the simulator out when the state would not fit). A
 * fetched document's errors name only where they are, never its text: a job must not be a
 * way to read what a server inside the network answers.
 */
export async function checkCircuit(
  code: string,
  job: QiskitJob,
  config: Pick<QpipeConfig, 'circuitLimits' | 'simulator'>,
  signal?: AbortSignal,
): Promise<CircuitMetadata> {
  const metadata = await analyzeCircuit(code, job, config, signal);
  if (metadata.qubits > config.circuitLimits.maxQubits) {
    throw new InvalidInputError(
      'circuit',
      `uses ${metadata.qubits} qubits; the limit is ${config.circuitLimits.maxQubits}`,
    );
  }
  if (job.spec.backend?.type === 'local_simulator') {
    const shortfall = memoryShortfall(metadata.qubits, config.simulator, metadata.gateCount);
    if (shortfall) throw shortfall;
  }
  return metadata;
}

async function analyzeCircuit(
  code: string,
  job: QiskitJob,
  config: Pick<QpipeConfig, 'circuitLimits'>,
  signal: AbortSignal | undefined,
): Promise<CircuitMetadata> {
  const options = {
    limits: config.circuitLimits,
    ...(job.spec.circuit.format === undefined ? {} : { format: job.spec.circuit.format }),
  };
  try {
    return mayTakeAWhile(code)
      ? await analyzeOffThread(code, options, signal ? { signal } : {})
      : analyzeQasm(code, options);
  } catch (error) {
    if (job.spec.circuit.source !== 'url' || !(error instanceof InvalidInputError)) throw error;
    const limit =
      error instanceof QasmLimitError ? error.limit : error instanceof CircuitCheckError ? error.limit : undefined;
    const what = limit ? `breaks the ${limit} limit` : 'is not OpenQASM qpipe runs';
    const where = /^\d+:\d+$/.test(error.where) ? ` (at line:column ${error.where})` : '';
    throw new InvalidInputError(
      'spec.circuit.url',
      `the fetched document ${what}${where}; its text is not shown, validate the file itself with qpipe validate`,
      { cause: error },
    );
  }
}

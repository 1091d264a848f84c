/**
 * validate: turns a job request (a direct `io.quantum.job.requested`, or an ApiServerSource
 * event for a QiskitJob) into `io.quantum.job.validated`: the manifest checked against the
 * schema, the circuit loaded, parsed and checked against the limits, and its metadata.
 * Anything wrong is thrown as an InvalidInputError, which the runtime turns into a
 * `rejected` event naming the field or line:column.
 */
import type { CloudEvent } from 'cloudevents';
import { buildJobEvent, deterministicId } from '../../events/envelope.ts';
import type { CircuitRef, JobRef } from '../../events/schemas.ts';
import { EventType, Stage, stageSource } from '../../events/types.ts';
import { RESTORED_ANNOTATION } from '../../shared/backup/restored.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { analyzeQasm, QasmLimitError } from '../../shared/qasm/index.ts';
import { memoryShortfall } from '../../shared/simulator/memory.ts';
import type { CircuitMetadata, QiskitJob } from '../../shared/resources/schema.ts';
import { parseResourceOf } from '../../shared/resources/validate.ts';
import { generationObserved, objectIdentity, userManifestOf } from '../../shared/resources/kubernetes-object.ts';
import { JobRejection } from '../../shared/runtime/outcomes.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { defineStage, type StageInput } from '../../shared/runtime/stage.ts';
import { isRecord } from '../../shared/records.ts';

type Deps = Pick<Ports, 'config' | 'store' | 'cluster' | 'now' | 'fetchCircuit'>;

type Input = StageInput<typeof Stage.Validate>;

/** The job's identity, taken even from a manifest that fails validation, so it can be rejected by name. */
export function jobRefOf(manifest: Record<string, unknown>, fallbackUid?: string): JobRef {
  const metadata = isRecord(manifest['metadata']) ? manifest['metadata'] : {};
  const text = (value: unknown, fallback: string) => (typeof value === 'string' && value !== '' ? value : fallback);
  const namespace = text(metadata['namespace'], 'default');
  const name = text(metadata['name'], 'unnamed');
  // A direct request without a uid gets one derived from its content, so a resent request is the same job.
  const uid = text(
    metadata['uid'],
    fallbackUid ?? deterministicId([namespace, name, JSON.stringify(manifest['spec'] ?? null)]),
  );
  const generation = typeof metadata['generation'] === 'number' ? metadata['generation'] : 1;
  return { namespace, name, uid, generation };
}

/**
 * Extracts the job manifest of an incoming event, or undefined when there is nothing to
 * validate: events about other kinds, generations already handled, and jobs `qpipe
 * restore` brought back (they ran before the backup).
 */
export function manifestOf(event: Input): Record<string, unknown> | undefined {
  if (event.type === EventType.JobRequested) return event.data.job;
  if (event.data['kind'] !== 'QiskitJob' || generationObserved(event.data)) return undefined;
  const annotations = objectIdentity(event.data)?.metadata.annotations;
  return annotations?.[RESTORED_ANNOTATION] === undefined ? userManifestOf(event.data) : undefined;
}

async function circuitCode(job: QiskitJob, deps: Deps): Promise<string> {
  const { circuit } = job.spec;
  switch (circuit.source) {
    case 'inline':
      return circuit.code ?? '';
    case 'configmap': {
      const ref = circuit.configMapRef;
      if (!ref) throw new InvalidInputError('spec.circuit.configMapRef', 'is required when source is configmap');
      const code = await deps.cluster.readConfigMapKey(job.metadata.namespace ?? 'default', ref.name, ref.key);
      if (code === undefined) {
        throw new InvalidInputError('spec.circuit.configMapRef', `ConfigMap ${ref.name} has no key "${ref.key}"`);
      }
      return code;
    }
    case 'url': {
      if (!deps.fetchCircuit) {
        throw new InvalidInputError('spec.circuit.url', 'circuits by URL are not enabled in this deployment');
      }
      return deps.fetchCircuit(circuit.url ?? '', deps.config.circuitLimits.maxBytes);
    }
  }
}

/**
 * The circuit's facts. A fetched document's errors name only where they are, never its text:
 * a job must not be a way to read what a server inside the network answers.
 */
function analyzeCircuit(code: string, job: QiskitJob, deps: Deps): CircuitMetadata {
  try {
    return analyzeQasm(code, {
      limits: deps.config.circuitLimits,
      ...(job.spec.circuit.format === undefined ? {} : { format: job.spec.circuit.format }),
    });
  } catch (error) {
    if (job.spec.circuit.source !== 'url' || !(error instanceof InvalidInputError)) throw error;
    const what = error instanceof QasmLimitError ? `breaks the ${error.limit} limit` : 'is not OpenQASM qpipe runs';
    const where = /^\d+:\d+$/.test(error.where) ? ` (at line:column ${error.where})` : '';
    throw new InvalidInputError(
      'spec.circuit.url',
      `the fetched document ${what}${where}; its text is not shown, validate the file itself with qpipe validate`,
      { cause: error },
    );
  }
}

/** Validates one job request. Returns the validated event, or nothing for events about other kinds. */
export async function validate(event: Input, deps: Deps): Promise<CloudEvent<unknown>[]> {
  const manifest = manifestOf(event);
  if (!manifest) return [];
  const ref = jobRefOf(manifest, event.extensions.jobuid);
  let job: QiskitJob;
  try {
    job = parseResourceOf('QiskitJob', manifest, `QiskitJob ${ref.namespace}/${ref.name}`);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new JobRejection(ref, error);
    throw error;
  }
  try {
    const code = await circuitCode(job, deps);
    const metadata = analyzeCircuit(code, job, deps);
    if (metadata.qubits > deps.config.circuitLimits.maxQubits) {
      throw new InvalidInputError(
        'circuit',
        `uses ${metadata.qubits} qubits; the limit is ${deps.config.circuitLimits.maxQubits}`,
      );
    }
    // A job pinned to the built-in simulator must fit in its memory; others are routed by
    // selection, which leaves the simulator out when the state would not fit.
    if (job.spec.backend?.type === 'local_simulator') {
      const shortfall = memoryShortfall(metadata.qubits, deps.config.simulator, metadata.gateCount);
      if (shortfall) throw shortfall;
    }
    const bytes = Buffer.byteLength(code, 'utf8');
    let circuitRef: CircuitRef = { format: metadata.format, hash: metadata.hash, bytes, code };
    if (bytes > deps.config.inlineCircuitBytes) {
      // Claim check: large circuits travel by reference (EventBridge caps events at 256 KB).
      const key = `circuits/${metadata.hash.replace('sha256:', '')}.qasm`;
      await deps.store.put(key, code, 'text/plain');
      circuitRef = { format: metadata.format, hash: metadata.hash, bytes, ref: key };
    }
    const { code: _inline, ...circuitSpec } = job.spec.circuit;
    const spec = { ...job.spec, circuit: circuitSpec };
    return [
      buildJobEvent(
        EventType.JobValidated,
        { job: ref, spec, circuit: circuitRef, metadata, startTime: deps.now().toISOString() },
        ref,
        {
          source: stageSource(Stage.Validate),
          ...(event.extensions.traceparent === undefined ? {} : { traceparent: event.extensions.traceparent }),
          ...(circuitRef.ref === undefined ? {} : { circuitref: circuitRef.ref }),
        },
      ),
    ];
  } catch (error) {
    if (error instanceof InvalidInputError) throw new JobRejection(ref, error);
    throw error;
  }
}

/** The validate stage, for any runtime to deploy. */
export const stage = defineStage(Stage.Validate, validate);

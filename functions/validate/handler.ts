/**
 * validate (decisions in shared/job-validation.ts): turns a job request (a direct `io.quantum.job.requested`, or an ApiServerSource
 * event for a QiskitJob) into `io.quantum.job.validated`: the manifest checked against the
 * schema, the circuit loaded, parsed and checked against the limits, and its metadata.
 * Anything wrong is thrown as an InvalidInputError, which the runtime turns into a
 * `rejected` event naming the field or line:column.
 */
import type { CloudEvent } from 'cloudevents';
import { buildJobEvent } from '../../events/envelope.ts';
import type { CircuitRef, JobRef } from '../../events/schemas.ts';
import { EventType, Stage, stageSource } from '../../events/types.ts';
import { heldCopy } from '../../shared/cluster/platform-events.ts';
import { requesterOf } from '../../shared/audit.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { checkCircuit, jobRefOf, manifestOf } from '../../shared/job-validation.ts';
import { circuitObjectKey, resultKey } from '../../shared/jobs.ts';
import type { QiskitJob } from '../../shared/resources/schema.ts';
import { objectIdentity } from '../../shared/resources/kubernetes-object.ts';
import { parseResourceOf } from '../../shared/resources/validate.ts';
import { scopedToJob } from '../../shared/runtime/outcomes.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { defineStage, type StageInput } from '../../shared/runtime/stage.ts';

type Deps = Pick<Ports, 'config' | 'store' | 'cluster' | 'now' | 'fetchCircuit' | 'log' | 'signal'>;

type Input = StageInput<typeof Stage.Validate>;

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
 * The job's identity, its uid the platform's or qpipe's, and who asked for it. An API-server
 * event counts only once the cluster confirms its object, and its requester is read from the
 * cluster's copy; a request naming the uid of the very object the cluster holds under that
 * name (the timer's resync of a job its source missed) keeps that uid; any other request gets
 * the uid qpipe derives.
 */
async function identityOf(
  event: Input,
  manifest: Record<string, unknown>,
  deps: Deps,
): Promise<{ ref: JobRef; requestedBy: string } | undefined> {
  const uid = objectIdentity(manifest)?.metadata.uid;
  const claimed = jobRefOf(manifest, { from: 'platform' });
  const claim = {
    kind: 'QiskitJob',
    namespace: claimed.namespace,
    name: claimed.name,
    uid,
    change: 'present',
  } as const;
  if (event.type !== EventType.JobRequested) {
    const held = await heldCopy(claim, deps);
    return held ? { ref: claimed, requestedBy: requesterOf(held) } : undefined;
  }
  const requestedBy = `a request from ${event.source}`;
  const held = uid === undefined ? undefined : await deps.cluster.findObject('QiskitJob', claim.namespace, claim.name);
  if (held !== 'unverifiable' && held?.uid === uid) return { ref: claimed, requestedBy };
  return { ref: jobRefOf(manifest, { from: 'request', runToken: event.extensions.jobuid }), requestedBy };
}

/** Validates one job request. Returns the validated event, or nothing for events about other kinds. */
export async function validate(event: Input, deps: Deps): Promise<CloudEvent<unknown>[]> {
  const manifest = manifestOf(event);
  if (!manifest) return [];
  const identity = await identityOf(event, manifest, deps);
  if (!identity) return [];
  const { ref, requestedBy } = identity;
  let job: QiskitJob;
  try {
    job = parseResourceOf('QiskitJob', manifest, `QiskitJob ${ref.namespace}/${ref.name}`);
  } catch (error) {
    throw scopedToJob(ref, error, 'reading the job');
  }
  try {
    // Everything that could fail after a reservation is checked now: where the results go.
    resultKey(ref, job.spec);
    const code = await circuitCode(job, deps);
    const metadata = await checkCircuit(code, job, deps.config, deps.signal);
    const bytes = Buffer.byteLength(code, 'utf8');
    let circuitRef: CircuitRef = { format: metadata.format, hash: metadata.hash, bytes, code };
    if (bytes > deps.config.inlineCircuitBytes) {
      // Claim check: large circuits travel by reference (EventBridge caps events at 256 KB).
      const key = circuitObjectKey(ref.namespace, code);
      await deps.store.put(key, code, 'text/plain');
      circuitRef = { format: metadata.format, hash: metadata.hash, bytes, ref: key };
    }
    const { code: _inline, ...circuitSpec } = job.spec.circuit;
    const spec = { ...job.spec, circuit: circuitSpec };
    return [
      buildJobEvent(
        EventType.JobValidated,
        {
          job: ref,
          spec,
          circuit: circuitRef,
          metadata,
          startTime: deps.now().toISOString(),
          requestedBy,
        },
        ref,
        {
          source: stageSource(Stage.Validate),
          ...(event.extensions.traceparent === undefined ? {} : { traceparent: event.extensions.traceparent }),
          ...(circuitRef.ref === undefined ? {} : { circuitref: circuitRef.ref }),
        },
      ),
    ];
  } catch (error) {
    throw scopedToJob(ref, error, 'validating the job');
  }
}

/** The validate stage, for any runtime to deploy. */
export const stage = defineStage(Stage.Validate, validate);

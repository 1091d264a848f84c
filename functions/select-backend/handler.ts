/**
 * select-backend: on `io.quantum.job.validated`, chooses where the job runs among the
 * built-in backends and the QiskitBackend resources, with the providers' live status and
 * queue (cached briefly) and the circuit translated for each device, and emits
 * `io.quantum.job.scheduled` with every candidate's score and estimated cost.
 */
import type { CloudEvent } from 'cloudevents';
import { buildJobEvent, carriedExtensions } from '../../events/envelope.ts';
import { EventType, Stage, stageSource } from '../../events/types.ts';
import type { BackendType, QiskitJobSpec } from '../../shared/resources/schema.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { sessionBackend } from '../../shared/sessions.ts';
import { selectBackend, settingsExclusion } from '../../shared/backends/selection.ts';
import { circuitProblem } from '../../shared/backends/compatibility.ts';
import { jobShots, loadCircuitSource } from '../../shared/jobs.ts';
import { compileQasmCached } from '../../shared/qasm/compile-cache.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { defineStage, type StageInput } from '../../shared/runtime/stage.ts';
import { catalogFor } from '../../shared/backends/visibility.ts';

type Deps = Pick<Ports, 'config' | 'cluster' | 'executors' | 'store' | 'now' | 'deviceStatus' | 'log'>;

/** Schedules one validated job. */
export async function selectBackendStage(
  event: StageInput<typeof Stage.SelectBackend>,
  deps: Deps,
): Promise<CloudEvent<unknown>[]> {
  const { job, spec: written, circuit, metadata } = event.data;
  const spec = written.session ? await pinnedToSession(written, job.namespace, deps) : written;
  const backends = await catalogFor(job.namespace, deps);
  const availableTypes = new Set(Object.keys(deps.executors) as BackendType[]);
  // Only providers the job could use need the circuit itself (to translate it) and their live status.
  const providers = backends.filter(
    (b) => b.type !== 'local_simulator' && settingsExclusion(b, spec, availableTypes) === undefined,
  );
  const compiled =
    providers.length > 0
      ? compileQasmCached(await loadCircuitSource(circuit, deps.store), { limits: deps.config.circuitLimits }).circuit
      : undefined;
  const statuses = await deps.deviceStatus.read(providers, deps.executors, {
    ttlMs: deps.config.providers.statusCacheSeconds * 1000,
    now: deps.now().getTime(),
  });
  const selection = selectBackend({
    spec,
    metadata,
    shots: jobShots(spec),
    backends,
    availableTypes,
    statuses,
    ...(compiled ? { circuitProblem: (backend, gates) => circuitProblem(compiled, backend, gates) } : {}),
  });
  const { backend } = selection;
  return [
    buildJobEvent(
      EventType.JobScheduled,
      {
        job,
        spec: written,
        circuit,
        backend: {
          name: backend.name,
          type: backend.type,
          ...(backend.deviceId === undefined ? {} : { deviceId: backend.deviceId }),
          fallbackUsed: selection.fallbackUsed,
          ...(selection.originalBackend === undefined ? {} : { originalBackend: selection.originalBackend }),
        },
        candidates: selection.candidates,
        estimate: selection.estimate,
      },
      job,
      {
        source: stageSource(Stage.SelectBackend),
        ...carriedExtensions(event),
      },
    ),
  ];
}

/** A job naming a QiskitSession runs on the session's device, or not at all (no fallback outside the session). */
async function pinnedToSession(spec: QiskitJobSpec, namespace: string, deps: Deps): Promise<QiskitJobSpec> {
  const name = spec.session as string;
  const session = await deps.cluster.findSession(namespace, name);
  if (!session) throw new InvalidInputError('spec.session', `QiskitSession ${namespace}/${name} does not exist`);
  return {
    ...spec,
    backend: { type: session.spec.backend.type, name: sessionBackend(session) },
    backendSelection: { ...spec.backendSelection, fallbackToSimulator: false },
  };
}

/** The select-backend stage, for any runtime to deploy. */
export const stage = defineStage(Stage.SelectBackend, selectBackendStage);

/**
 * `qpipe submit`: publishes `io.quantum.job.requested` for every job in the files, to a
 * CloudEvents HTTP endpoint (Knative broker or `qpipe serve`) or to an EventBridge bus.
 * `qpipe status`: reads a job's status record from the store.
 */
import type { CloudEvent } from 'cloudevents';
import { buildEvent } from '../../events/envelope.ts';
import { CANCEL_SOURCES, EventType } from '../../events/types.ts';
import type { QpipeConfig } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import { backendRefusals } from '../backends/visibility.ts';
import { jobRefOf } from '../job-validation.ts';
import type { ConfigMapData } from '../cluster/local-cluster.ts';
import { type ValidationEntry, validateJobs } from './circuit-commands.ts';
import { loadManifests, type ManifestSet } from '../manifests.ts';
import type { QiskitJobStatus } from '../resources/schema.ts';
import { createDeployedPorts } from '../runtime/deployed-ports.ts';
import { postEvents } from '../runtime/http-binding.ts';
import { applyResources } from '../resources/resource-store.ts';
import { localApplier } from './resources-command.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** One submitted job. */
export interface Submitted {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly eventId: string;
}

/** Where to publish. */
export type Destination = { readonly url: string } | { readonly bus: string };

function requests(jobs: readonly Record<string, unknown>[]): { events: CloudEvent<unknown>[]; submitted: Submitted[] } {
  const events: CloudEvent<unknown>[] = [];
  const submitted: Submitted[] = [];
  for (const job of jobs) {
    const metadata = (job['metadata'] ?? {}) as Record<string, unknown>;
    // Resubmitting the same manifest is the same job (idempotent); a changed spec is a new one.
    // The uid is the one validate derives; a uid in the manifest is only a run token.
    const { namespace, name, uid, generation } = jobRefOf(job, { from: 'request' });
    const event = buildEvent(
      EventType.JobRequested,
      { job: { ...job, metadata: { ...metadata, namespace, name, generation } } },
      { source: '/qpipe/submit', subject: `${namespace}/${name}` },
    );
    events.push(event);
    submitted.push({ namespace, name, uid, eventId: event.id });
  }
  return { events, submitted };
}

/**
 * The jobs, with circuits read from a ConfigMap of the files made inline (the ConfigMap does
 * not travel), and the documents of the files that would not be sent.
 */
function withConfigMapsInlined(manifests: ManifestSet): { jobs: Record<string, unknown>[]; unsent: string[] } {
  const used = new Set<ConfigMapData>();
  const jobs = manifests.jobs.map(({ value }) => {
    const spec = value['spec'] as { circuit?: { source?: string; configMapRef?: { name?: string; key?: string } } };
    const ref = spec.circuit?.source === 'configmap' ? spec.circuit.configMapRef : undefined;
    const metadata = (value['metadata'] ?? {}) as { namespace?: unknown };
    const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
    const configMap = manifests.configMaps.find((c) => c.namespace === namespace && c.name === ref?.name);
    const code = ref?.key === undefined ? undefined : configMap?.data[ref.key];
    if (configMap === undefined || code === undefined) return value;
    used.add(configMap);
    const { configMapRef: _sent, ...circuit } = spec.circuit ?? {};
    return { ...value, spec: { ...spec, circuit: { ...circuit, source: 'inline', code } } };
  });
  const unsent = [
    ...manifests.budgets.map((b) => `QiskitBudget ${b.metadata.namespace ?? 'default'}/${b.metadata.name}`),
    ...manifests.backends.map((b) => `QiskitBackend ${b.metadata.namespace ?? 'default'}/${b.metadata.name}`),
    ...manifests.configMaps.filter((c) => !used.has(c)).map((c) => `ConfigMap ${c.namespace}/${c.name}`),
  ];
  return { jobs, unsent };
}

/** Publishes the jobs of the files. */
export async function submitFiles(
  files: readonly string[],
  options: { config: QpipeConfig; to: Destination },
): Promise<{ submitted: Submitted[]; refused: ValidationEntry[] }> {
  const loaded = await loadManifests(files);
  const [error] = [...loaded.errors, ...backendRefusals(loaded.backends, options.config)];
  if (error) throw error;
  if (loaded.jobs.length === 0) throw new InvalidInputError(files.join(', '), 'holds no QiskitJob documents');
  // Checked as validate would: a job it would reject is not published, the others are.
  const verdicts = await validateJobs(loaded, options.config.circuitLimits);
  const refused = verdicts.filter((verdict) => !verdict.valid);
  const manifests = { ...loaded, jobs: loaded.jobs.filter((_, i) => verdicts[i]?.valid === true) };
  if (manifests.jobs.length === 0) return { submitted: [], refused };
  const { jobs, unsent } = withConfigMapsInlined(manifests);
  if ('bus' in options.to) {
    // On AWS the functions read resources from the store: the files' budgets and backends are
    // stored first (as `qpipe apply` would), so the jobs meet the same ones `qpipe run` applies.
    const ports = await createDeployedPorts(options.config, { budgets: [], backends: [], configMaps: [] });
    await applyResources(ports.store, manifests, localApplier('qpipe submit'));
    const { events, submitted } = requests(jobs);
    await putOnBus(events, options.to.bus, ports.store);
    return { submitted, refused };
  }
  if (unsent.length > 0) {
    // `run` applies these; a published request cannot carry them, so say so rather than drop them.
    throw new InvalidInputError(
      files.join(', '),
      `${unsent.join(', ')} cannot travel with a job request to a broker: apply them to the cluster first ` +
        '(kubectl apply -f), then submit a file of jobs',
    );
  }
  const { events: requested, submitted } = requests(jobs);
  await postEvents(options.to.url, requested);
  return { submitted, refused };
}

/** Puts events on an EventBridge bus (large bodies by reference in the store, as every stage reads them). */
async function putOnBus(events: CloudEvent<unknown>[], bus: string, store: ObjectStore): Promise<void> {
  const [{ EventBridgeClient }, { createEventBridgePublisher }] = await Promise.all([
    import('@aws-sdk/client-eventbridge'),
    import('../runtime/eventbridge-publisher.ts'),
  ]);
  await createEventBridgePublisher({ client: new EventBridgeClient({}), busName: bus, store })(events);
}

/** A job's status from the store (the local folder, or S3 when QPIPE_S3_BUCKET is set). */
export async function readStatus(
  namespace: string,
  name: string,
  config: QpipeConfig,
): Promise<QiskitJobStatus | undefined> {
  const ports = await createDeployedPorts(config, { budgets: [], backends: [], configMaps: [] });
  return ports.cluster.readJobStatus(namespace, name);
}

/**
 * Asks the pipeline to cancel the latest run of a job published as an event (on a cluster,
 * `kubectl delete qiskitjob` does it): its simulation stops, a run not started never starts,
 * and its provider task is cancelled; its money is released once the provider confirms.
 */
export async function cancelJob(
  job: { readonly namespace: string; readonly name: string },
  options: { config: QpipeConfig; to: Destination; reason: string },
): Promise<string> {
  const event = buildEvent(
    EventType.JobCancel,
    { job, reason: options.reason },
    { source: CANCEL_SOURCES[0], subject: `${job.namespace}/${job.name}` },
  );
  if ('bus' in options.to) {
    const { store } = await createDeployedPorts(options.config, { budgets: [], backends: [], configMaps: [] });
    await putOnBus([event], options.to.bus, store);
  } else {
    await postEvents(options.to.url, [event]);
  }
  return event.id;
}

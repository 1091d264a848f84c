/**
 * `qpipe submit`: publishes `io.quantum.job.requested` for every job in the files, to a
 * CloudEvents HTTP endpoint (Knative broker or `qpipe serve`) or to an EventBridge bus.
 * `qpipe status`: reads a job's status record from the store.
 */
import type { CloudEvent } from 'cloudevents';
import { buildEvent, deterministicId } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import type { QpipeConfig } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import { loadManifests } from '../manifests.ts';
import type { QiskitJobStatus } from '../resources/schema.ts';
import { createDeployedPorts } from '../runtime/deployed-ports.ts';
import { postEvents } from '../runtime/http-binding.ts';

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
    const namespace = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : 'default';
    const name = typeof metadata['name'] === 'string' ? metadata['name'] : 'unnamed';
    // Resubmitting the same manifest is the same job (idempotent); a changed spec is a new one.
    const uid =
      typeof metadata['uid'] === 'string'
        ? metadata['uid']
        : deterministicId([namespace, name, JSON.stringify(job['spec'] ?? null)]);
    const event = buildEvent(
      EventType.JobRequested,
      { job: { ...job, metadata: { ...metadata, namespace, name, uid, generation: 1 } } },
      { source: '/qpipe/submit', subject: `${namespace}/${name}`, jobuid: uid, jobgeneration: 1 },
    );
    events.push(event);
    submitted.push({ namespace, name, uid, eventId: event.id });
  }
  return { events, submitted };
}

/** Publishes the jobs of the files. */
export async function submitFiles(
  files: readonly string[],
  options: { config: QpipeConfig; to: Destination },
): Promise<Submitted[]> {
  const manifests = await loadManifests(files);
  if (manifests.errors.length > 0) throw manifests.errors[0] as InvalidInputError;
  if (manifests.jobs.length === 0) throw new InvalidInputError(files.join(', '), 'holds no QiskitJob documents');
  const { events, submitted } = requests(manifests.jobs.map((d) => d.value));
  if ('url' in options.to) {
    await postEvents(options.to.url, events);
    return submitted;
  }
  const [{ EventBridgeClient }, { createEventBridgePublisher }] = await Promise.all([
    import('@aws-sdk/client-eventbridge'),
    import('../runtime/eventbridge-publisher.ts'),
  ]);
  const ports = await createDeployedPorts(options.config, { budgets: [], backends: [], configMaps: [] });
  await createEventBridgePublisher({ client: new EventBridgeClient({}), busName: options.to.bus, store: ports.store })(
    events,
  );
  return submitted;
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

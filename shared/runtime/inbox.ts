/**
 * The durable side of `qpipe serve`'s ingress: a request is stored before it is acknowledged,
 * and stored requests whose job has not reached a final phase are published again when the
 * server starts, so a crash (kill -9 included) loses no acknowledged job. Stages are
 * idempotent, so a job that was half way through simply resumes.
 */
import { CloudEvent } from 'cloudevents';
import type { JobRef } from '../../events/schemas.ts';
import type { Cluster } from '../cluster/cluster.ts';
import { jobRefOf } from '../job-validation.ts';
import { isRecord } from '../records.ts';
import { TERMINAL_PHASES } from '../resources/schema.ts';
import { keySegment } from '../storage/key-segment.ts';
import { getText, type ObjectStore } from '../storage/object-store.ts';

const PREFIX = 'inbox/';
const keyOf = (event: CloudEvent<unknown>) => `${PREFIX}${keySegment(event.id)}.json`;

/**
 * The run a stored request names (its data's manifest, or an ApiServerSource object), with
 * the uid validate gives it: the object's, the event's `jobuid`, or one derived from the
 * manifest, so the request is matched to its own run, never to another job of the name.
 */
function jobOfRequest(event: CloudEvent<unknown>): JobRef | undefined {
  const data = event.data;
  if (!isRecord(data)) return undefined;
  const manifest = isRecord(data['job']) ? data['job'] : data;
  const metadata = manifest['metadata'];
  if (!isRecord(metadata) || typeof metadata['name'] !== 'string') return undefined;
  const uid = (event as unknown as Record<string, unknown>)['jobuid'];
  return jobRefOf(manifest, {
    from: isRecord(data['job']) ? 'request' : 'platform',
    runToken: typeof uid === 'string' ? uid : undefined,
  });
}

/** Requests acknowledged by the ingress and not yet known to be finished. */
export class Inbox {
  constructor(
    private readonly store: ObjectStore,
    private readonly cluster: Pick<Cluster, 'readJobStatus'>,
  ) {}

  /** Stores a request; resolves once it is durable. */
  async add(event: CloudEvent<unknown>): Promise<void> {
    await this.store.put(keyOf(event), JSON.stringify(event.toJSON()), 'application/json');
  }

  /** Forgets requests whose job is final; returns the others, to be published again. */
  async unfinished(): Promise<CloudEvent<unknown>[]> {
    const events: CloudEvent<unknown>[] = [];
    for (const key of await this.store.list(PREFIX)) {
      const text = await getText(this.store, key);
      if (text === undefined) continue;
      let event: CloudEvent<unknown>;
      try {
        event = new CloudEvent(JSON.parse(text) as Record<string, unknown>, false);
      } catch {
        await this.store.delete(key);
        continue;
      }
      const job = jobOfRequest(event);
      const status = job && (await this.cluster.readJobStatus(job.namespace, job.name, job.uid));
      const final = status?.phase !== undefined && TERMINAL_PHASES.includes(status.phase);
      if (!job || final) await this.store.delete(key);
      else events.push(event);
    }
    return events;
  }
}

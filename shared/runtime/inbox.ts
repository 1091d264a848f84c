/**
 * The durable side of `qpipe serve`'s ingress: a request is stored before it is acknowledged,
 * and stored requests whose job has not reached a final phase are published again when the
 * server starts, so a crash (kill -9 included) loses no acknowledged job. Stages are
 * idempotent, so a job that was half way through simply resumes.
 */
import { CloudEvent } from 'cloudevents';
import type { Cluster } from '../cluster/cluster.ts';
import { TERMINAL_PHASES } from '../resources/schema.ts';
import { keySegment } from '../storage/key-segment.ts';
import { getText, type ObjectStore } from '../storage/object-store.ts';

const PREFIX = 'inbox/';
const keyOf = (event: CloudEvent<unknown>) => `${PREFIX}${keySegment(event.id)}.json`;

/** The job a stored request names: its data's manifest, or an ApiServerSource object. */
function jobOfRequest(event: CloudEvent<unknown>): { namespace: string; name: string } | undefined {
  const data = event.data as { job?: { metadata?: Record<string, unknown> }; metadata?: Record<string, unknown> };
  const metadata = data.job?.metadata ?? data.metadata;
  const name = metadata?.['name'];
  if (typeof name !== 'string') return undefined;
  const namespace = metadata?.['namespace'];
  return { namespace: typeof namespace === 'string' ? namespace : 'default', name };
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
      // By uid when the request names one: another job of the same name may have finished.
      const uid = (event as unknown as Record<string, unknown>)['jobuid'];
      const status =
        job && (await this.cluster.readJobStatus(job.namespace, job.name, typeof uid === 'string' ? uid : undefined));
      const final = status?.phase !== undefined && TERMINAL_PHASES.includes(status.phase);
      if (!job || final) await this.store.delete(key);
      else events.push(event);
    }
    return events;
  }
}

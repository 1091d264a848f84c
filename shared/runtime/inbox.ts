/**
 * The durable side of `qpipe serve`'s ingress: a request is stored before it is acknowledged,
 * and stored requests whose job has not reached a final phase are published again when the
 * server starts, so a crash (kill -9 included) loses no acknowledged job. Stages are
 * idempotent, so a job that was half way through simply resumes.
 *
 * A request whose processing kills the server would be replayed, and kill it, at every start:
 * so each start after a crash (no clean-stop marker) counts one against every request it
 * replays, and a request counted `maxCrashes` times is quarantined in the dead letters and
 * its job ended, not replayed again.
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
/** Written by a server that stopped cleanly; its absence at start means the last one crashed. */
const CLEAN_STOP = 'inbox-state/clean-stop';

/** A stored request: the event, and how many crashed servers were processing it. */
interface Stored {
  readonly event: Record<string, unknown>;
  readonly crashes: number;
}

function storedOf(text: string): Stored {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  // Requests stored by earlier versions are the bare event.
  return 'specversion' in parsed
    ? { event: parsed, crashes: 0 }
    : { event: parsed['event'] as Record<string, unknown>, crashes: Number(parsed['crashes'] ?? 0) };
}

/** What a start finds in the inbox: requests to publish again, and those quarantined now. */
export interface InboxReplay {
  readonly replay: CloudEvent<unknown>[];
  readonly quarantined: { readonly event: CloudEvent<unknown>; readonly job: JobRef; readonly crashes: number }[];
}

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
    /** Crashed starts a request may see before it is quarantined. */
    private readonly maxCrashes: number,
  ) {}

  /** Stores a request; resolves once it is durable. */
  async add(event: CloudEvent<unknown>): Promise<void> {
    const stored: Stored = { event: event.toJSON(), crashes: 0 };
    await this.store.put(keyOf(event), JSON.stringify(stored), 'application/json');
  }

  /** Records a clean stop: the next start counts no crash against what it replays. */
  async stoppedCleanly(): Promise<void> {
    await this.store.put(CLEAN_STOP, new Date().toISOString(), 'text/plain');
  }

  /**
   * At start: forgets requests whose job is final, counts a crash against the others when the
   * last server did not stop cleanly, quarantines those counted too often (dead letters), and
   * returns the rest to be published again.
   */
  async unfinished(): Promise<InboxReplay> {
    const crashed = (await getText(this.store, CLEAN_STOP)) === undefined;
    await this.store.delete(CLEAN_STOP);
    const replay: CloudEvent<unknown>[] = [];
    const quarantined: InboxReplay['quarantined'][number][] = [];
    for (const key of await this.store.list(PREFIX)) {
      const text = await getText(this.store, key);
      if (text === undefined) continue;
      let stored: Stored;
      let event: CloudEvent<unknown>;
      try {
        stored = storedOf(text);
        event = new CloudEvent(stored.event, false);
      } catch {
        await this.store.delete(key);
        continue;
      }
      const job = jobOfRequest(event);
      const status = job && (await this.cluster.readJobStatus(job.namespace, job.name, job.uid));
      const final = status?.phase !== undefined && TERMINAL_PHASES.includes(status.phase);
      if (!job || final) {
        await this.store.delete(key);
        continue;
      }
      const crashes = stored.crashes + (crashed ? 1 : 0);
      if (crashes >= this.maxCrashes) {
        const letter = `dead-letters/${new Date().toISOString().replace(/[:.]/g, '-')}-${keySegment(event.id)}.json`;
        await this.store.put(letter, JSON.stringify(stored.event, null, 2), 'application/json');
        await this.store.delete(key);
        quarantined.push({ event, job, crashes });
        continue;
      }
      if (crashes !== stored.crashes) {
        await this.store.put(
          key,
          JSON.stringify({ event: stored.event, crashes } satisfies Stored),
          'application/json',
        );
      }
      replay.push(event);
    }
    return { replay, quarantined };
  }
}

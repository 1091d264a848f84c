/**
 * Builds and parses qpipe's CloudEvents with the `cloudevents` SDK, so no stage writes an
 * envelope by hand. Parsing checks the data against the catalog schema at the edge.
 */
import { createHash } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
import { checkSchema } from '../shared/resources/validate.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { EVENT_DATA, type EventData, type JobRef } from './schemas.ts';
import { EventType } from './types.ts';

/** CloudEvents extension attributes qpipe uses (lower-case letters only, per the spec). */
export interface QpipeExtensions {
  readonly jobuid?: string;
  readonly jobgeneration?: number;
  readonly traceparent?: string;
  /** Object-store key of a circuit too large to travel inline (the data's circuit.ref). */
  readonly circuitref?: string;
  /** Object-store key of a run's result document. */
  readonly resultref?: string;
  /** Deliver no earlier than this time (ISO 8601): a stage scheduling its own re-check. */
  readonly notbefore?: string;
}

/**
 * A catalog event whose data has been checked against its schema. Distributive, so
 * `TypedEvent<A | B>` is a union that narrows on `type`.
 */
export type TypedEvent<T extends EventType = EventType> = T extends EventType
  ? {
      readonly type: T;
      readonly id: string;
      readonly source: string;
      readonly subject?: string;
      readonly time?: string;
      readonly data: EventData<T>;
      readonly extensions: QpipeExtensions;
    }
  : never;

/** Any catalog event, discriminated by `type`. */
export type AnyTypedEvent = TypedEvent;

/** Options for building an event. */
export interface BuildOptions extends QpipeExtensions {
  readonly source: string;
  readonly subject?: string;
  /** Extra parts of the id, when one job emits several events of the same type. */
  readonly idParts?: readonly string[];
  readonly time?: Date;
}

const KNOWN_TYPES = new Set<string>(Object.values(EventType));

/** Whether `type` is in the catalog. */
export function isCatalogType(type: string): type is EventType {
  return KNOWN_TYPES.has(type);
}

/**
 * The id of a job event: a hash of (uid, generation, type, parts), so a stage that runs
 * twice for the same input emits the same id and consumers can recognise the duplicate.
 */
export function deterministicId(parts: readonly (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/** The subject of a job's events: `<namespace>/<name>`. */
export function jobSubject(job: Pick<JobRef, 'namespace' | 'name'>): string {
  return `${job.namespace}/${job.name}`;
}

/** Builds a catalog event. Data is validated so a stage can never emit a malformed event. */
export function buildEvent<T extends EventType>(
  type: T,
  data: EventData<T>,
  options: BuildOptions,
): CloudEvent<EventData<T>> {
  checkSchema(EVENT_DATA[type], data, `${type} data`);
  // A scheduled re-check is a new delivery, not a duplicate: its time is part of the id.
  const idParts = [
    options.jobuid ?? '',
    options.jobgeneration ?? '',
    type,
    ...(options.idParts ?? []),
    options.notbefore ?? '',
  ];
  const extensions: Record<string, string | number> = {};
  if (options.jobuid !== undefined) extensions['jobuid'] = options.jobuid;
  if (options.jobgeneration !== undefined) extensions['jobgeneration'] = options.jobgeneration;
  if (options.traceparent !== undefined) extensions['traceparent'] = options.traceparent;
  if (options.circuitref !== undefined) extensions['circuitref'] = options.circuitref;
  if (options.resultref !== undefined) extensions['resultref'] = options.resultref;
  if (options.notbefore !== undefined) extensions['notbefore'] = options.notbefore;
  return new CloudEvent<EventData<T>>({
    specversion: '1.0',
    type,
    source: options.source,
    id: options.jobuid === undefined ? crypto.randomUUID() : deterministicId(idParts),
    time: (options.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    data,
    ...(options.subject === undefined ? {} : { subject: options.subject }),
    ...extensions,
  });
}

/** Builds an event about a job, filling subject and the job extensions from its ref. */
export function buildJobEvent<T extends EventType>(
  type: T,
  data: EventData<T>,
  job: JobRef,
  options: Omit<BuildOptions, 'subject' | 'jobuid' | 'jobgeneration'>,
): CloudEvent<EventData<T>> {
  return buildEvent(type, data, {
    ...options,
    subject: jobSubject(job),
    jobuid: job.uid,
    jobgeneration: job.generation,
  });
}

/** The extensions a stage passes from the event it handles to the events it emits (trace, circuit reference). */
export function carriedExtensions(event: {
  readonly extensions: QpipeExtensions;
}): Pick<QpipeExtensions, 'traceparent' | 'circuitref'> {
  const { traceparent, circuitref } = event.extensions;
  return {
    ...(traceparent === undefined ? {} : { traceparent }),
    ...(circuitref === undefined ? {} : { circuitref }),
  };
}

/** An event that is not in the catalog or whose data does not match its schema. */
export class InvalidEventError extends InvalidInputError {}

function dataOf(event: CloudEvent<unknown>): unknown {
  const data =
    event.data ?? (event.data_base64 ? Buffer.from(event.data_base64, 'base64').toString('utf8') : undefined);
  if (typeof data === 'string') {
    try {
      return JSON.parse(data);
    } catch (cause) {
      throw new InvalidEventError('data', 'is not valid JSON', { cause });
    }
  }
  if (data instanceof Uint8Array) return JSON.parse(Buffer.from(data).toString('utf8'));
  return data;
}

/** Parses a received CloudEvent into a typed catalog event, or throws InvalidEventError. */
export function parseEvent(event: CloudEvent<unknown>): AnyTypedEvent {
  if (!isCatalogType(event.type)) {
    throw new InvalidEventError('type', `"${event.type}" is not a qpipe event type`);
  }
  const data = checkSchema(EVENT_DATA[event.type], dataOf(event), `${event.type} event ${event.id}`, 'data');
  const num = (value: unknown) => (value === undefined ? undefined : Number(value));
  const text = (value: unknown) =>
    typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
  const extensions: QpipeExtensions = Object.fromEntries(
    Object.entries({
      jobuid: text(event['jobuid']),
      jobgeneration: num(event['jobgeneration']),
      traceparent: text(event['traceparent']),
      circuitref: text(event['circuitref']),
      resultref: text(event['resultref']),
      notbefore: text(event['notbefore']),
    }).filter(([, v]) => v !== undefined),
  );
  return {
    type: event.type,
    id: event.id,
    source: event.source,
    ...(event.subject === undefined ? {} : { subject: event.subject }),
    ...(event.time === undefined ? {} : { time: event.time }),
    data,
    extensions,
  } as AnyTypedEvent;
}

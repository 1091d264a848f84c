/**
 * The one-to-one mapping between CloudEvents and EventBridge events:
 *   type → detail-type, source → source, time → time, and everything else in detail:
 *   { id, subject, datacontenttype, extensions (jobuid, jobgeneration, traceparent,
 *   circuitref, resultref, bodyref, notbefore, qpipescheduled), data }.
 * EventBridge gives every delivery its own id; the CloudEvent id travels in detail.id so
 * duplicates stay recognisable. https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html
 */
import { CloudEvent } from 'cloudevents';
import { InvalidInputError } from '../shared/errors.ts';
import { isRecord } from '../shared/records.ts';

/** An EventBridge event as a Lambda target receives it. */
export interface EventBridgeEnvelope {
  readonly version?: string;
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account?: string;
  readonly time?: string;
  readonly region?: string;
  readonly resources?: readonly string[];
  readonly detail: Record<string, unknown>;
}

/** A PutEvents entry. */
export interface EventBridgeEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
  readonly Time?: Date;
  readonly EventBusName: string;
}

/** EventBridge's limit on one entry (all fields together). */
export const EVENTBRIDGE_ENTRY_LIMIT = 256 * 1024;

const EXTENSIONS = [
  'jobuid',
  'jobgeneration',
  'traceparent',
  'circuitref',
  'resultref',
  'bodyref',
  'notbefore',
  // The copy of a delayed event a scheduler delivers (shared/scheduler/scheduler.ts).
  'qpipescheduled',
] as const;

/** The PutEvents entry of a CloudEvent. */
export function toEventBridgeEntry(event: CloudEvent<unknown>, busName: string): EventBridgeEntry {
  const record = event as unknown as Record<string, unknown>;
  const extensions = Object.fromEntries(
    EXTENSIONS.filter((name) => record[name] !== undefined).map((name) => [name, record[name]]),
  );
  const detail = {
    id: event.id,
    ...(event.subject === undefined ? {} : { subject: event.subject }),
    datacontenttype: event.datacontenttype ?? 'application/json',
    ...(Object.keys(extensions).length > 0 ? { extensions } : {}),
    data: event.data,
  };
  return {
    Source: event.source,
    DetailType: event.type,
    Detail: JSON.stringify(detail),
    ...(event.time === undefined ? {} : { Time: new Date(event.time) }),
    EventBusName: busName,
  };
}

/** Size of an entry as EventBridge counts it (UTF-8 bytes of its fields). */
export function entrySize(entry: EventBridgeEntry): number {
  return (
    Buffer.byteLength(entry.Source) +
    Buffer.byteLength(entry.DetailType) +
    Buffer.byteLength(entry.Detail) +
    Buffer.byteLength(entry.EventBusName)
  );
}

/** The CloudEvent carried by an EventBridge event. */
export function fromEventBridge(envelope: EventBridgeEnvelope): CloudEvent<unknown> {
  if (
    !isRecord(envelope) ||
    typeof envelope['detail-type'] !== 'string' ||
    typeof envelope.source !== 'string' ||
    !isRecord(envelope.detail)
  ) {
    throw new InvalidInputError('event', 'is not an EventBridge event (detail-type, source and detail are required)');
  }
  const detail = envelope.detail;
  const extensions = isRecord(detail['extensions']) ? detail['extensions'] : {};
  return new CloudEvent<unknown>({
    specversion: '1.0',
    type: envelope['detail-type'],
    source: envelope.source,
    id: typeof detail['id'] === 'string' ? detail['id'] : envelope.id,
    ...(envelope.time === undefined ? {} : { time: envelope.time }),
    ...(typeof detail['subject'] === 'string' ? { subject: detail['subject'] } : {}),
    datacontenttype: typeof detail['datacontenttype'] === 'string' ? detail['datacontenttype'] : 'application/json',
    data: 'data' in detail ? detail['data'] : detail,
    ...Object.fromEntries(
      Object.entries(extensions).filter(([name]) => (EXTENSIONS as readonly string[]).includes(name)),
    ),
  });
}

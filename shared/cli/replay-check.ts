/**
 * What `qpipe dead-letters replay` may put back: a queue or the store can hold anything
 * someone managed to put there, and replay speaks with the stack's authority (on AWS, as the
 * stack's replay role, which the bus lets use qpipe's internal sources). Only catalog events,
 * internal ones only from the stage that emits them, within the size a bus takes, are replayed;
 * the rest stay where they are, with the reason.
 */
import type { CloudEvent } from 'cloudevents';
import { EMITTERS, EventType, stageSource } from '../../events/types.ts';

/** The most a replayed event may weigh as JSON (an HTTP ingress takes 1 MiB; larger data travels by reference). */
export const MAX_REPLAY_BYTES = 1024 * 1024;

const KNOWN_TYPES = new Set<string>(Object.values(EventType));

/** Why a dead letter must not be replayed, or undefined when it may. */
export function whyNotReplayable(event: CloudEvent<unknown>): string | undefined {
  if (!KNOWN_TYPES.has(event.type)) return `"${event.type}" is not a qpipe event type`;
  const type = event.type as EventType;
  if (type === EventType.BraketTaskStateChange) {
    return "only Amazon Braket may send aws.braket events; the task's fallback poll ends it";
  }
  // Internal events only from the stages that emit them; a request is only a request (validation and budget follow).
  const sources = EMITTERS[type]?.map((stage) => stageSource(stage));
  if (sources && !sources.includes(event.source)) {
    return `${type} may come only from ${sources.join(', ')}, not "${event.source}"`;
  }
  const bytes = Buffer.byteLength(JSON.stringify(event.toJSON()));
  if (bytes > MAX_REPLAY_BYTES) return `${bytes} bytes is over the ${MAX_REPLAY_BYTES} a replay may carry`;
  return undefined;
}

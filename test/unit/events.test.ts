import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { buildJobEvent, deterministicId, InvalidEventError, parseEvent } from '../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import { EventType, SUBSCRIPTIONS } from '../../events/types.ts';

describe('event catalog', () => {
  it('has an example of every event type, each valid against its schema', () => {
    expect(Object.keys(EXAMPLE_EVENTS).sort()).toEqual(Object.values(EventType).sort());
    for (const [type, example] of Object.entries(EXAMPLE_EVENTS)) {
      expect(parseEvent(example).type).toBe(type);
    }
  });

  it('survives the HTTP binary and structured bindings unchanged', () => {
    for (const example of Object.values(EXAMPLE_EVENTS)) {
      for (const message of [HTTP.binary(example), HTTP.structured(example)]) {
        const back = HTTP.toEvent(message) as CloudEvent<unknown>;
        const parsed = parseEvent(back);
        expect(parsed.data).toEqual(parseEvent(example).data);
        expect(parsed.extensions).toEqual(parseEvent(example).extensions);
      }
    }
  });

  it('uses reverse-DNS types, /qpipe sources and namespace/name subjects', () => {
    const validated = EXAMPLE_EVENTS[EventType.JobValidated];
    expect(validated.type).toMatch(/^io\.quantum\.[a-z]+\.[a-z]+$/);
    expect(validated.source).toBe('/qpipe/validate');
    expect(validated.subject).toBe('quantum-research/bell');
    expect(validated['jobuid']).toBe('6f1c2a4e-0b1d-4c53-9d6a-2f2f5b8a1e77');
    expect(validated['jobgeneration']).toBe(1);
  });

  it('gives the same id to the same event of the same job run, so duplicates are recognisable', () => {
    const data = parseEvent(EXAMPLE_EVENTS[EventType.JobFailed]).data as never;
    const job = { namespace: 'a', name: 'b', uid: 'u', generation: 1 };
    const first = buildJobEvent(EventType.JobFailed, data, job, { source: '/qpipe/execute' });
    const again = buildJobEvent(EventType.JobFailed, data, job, { source: '/qpipe/execute' });
    const nextGeneration = buildJobEvent(
      EventType.JobFailed,
      data,
      { ...job, generation: 2 },
      { source: '/qpipe/execute' },
    );
    expect(again.id).toBe(first.id);
    expect(nextGeneration.id).not.toBe(first.id);
    expect(deterministicId(['u', 1, 'x'])).toHaveLength(32);
  });

  it('refuses to build an event whose data breaks its schema', () => {
    const job = { namespace: 'a', name: 'b', uid: 'u', generation: 1 };
    expect(() => buildJobEvent(EventType.JobFailed, { job, stage: 'x' } as never, job, { source: '/x' })).toThrow(
      /data.*reason: is required/s,
    );
  });

  it('rejects unknown types and malformed data with what is wrong', () => {
    const unknown = new CloudEvent({ type: 'com.example.other', source: '/x', data: {} });
    expect(() => parseEvent(unknown)).toThrow(InvalidEventError);
    const malformed = new CloudEvent({ type: EventType.JobCompleted, source: '/x', data: { job: { name: 1 } } });
    expect(() => parseEvent(malformed)).toThrow(/data\.job\.name: must be a string/);
  });

  it('subscribes every stage to catalog types only, and feeds every emitted job event to the status writer', () => {
    const all = new Set<string>(Object.values(EventType));
    for (const types of Object.values(SUBSCRIPTIONS)) for (const type of types) expect(all.has(type)).toBe(true);
    for (const type of [
      EventType.JobValidated,
      EventType.JobScheduled,
      EventType.JobApproved,
      EventType.JobExecuted,
      EventType.JobRejected,
    ]) {
      expect(SUBSCRIPTIONS['collect-results']).toContain(type);
    }
  });
});

import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { matchesFilter } from '../../shared/bus/bus.ts';
import { InProcessBus } from '../../shared/bus/in-process-bus.ts';

const event = (type: string, extra: Record<string, string> = {}) =>
  new CloudEvent({ type, source: '/test', data: {}, ...extra });

describe('Trigger-style filters', () => {
  it('match when every named attribute is equal', () => {
    expect(matchesFilter({ type: 'a.b' }, event('a.b'))).toBe(true);
    expect(matchesFilter({ type: 'a.b', source: '/test' }, event('a.b'))).toBe(true);
    expect(matchesFilter({ type: 'a.b', source: '/other' }, event('a.b'))).toBe(false);
    expect(matchesFilter({ type: 'a.c' }, event('a.b'))).toBe(false);
  });

  it('match extension attributes too, and an empty filter matches everything', () => {
    expect(matchesFilter({ jobuid: 'u1' }, event('a.b', { jobuid: 'u1' }))).toBe(true);
    expect(matchesFilter({ jobuid: 'u1' }, event('a.b', { jobuid: 'u2' }))).toBe(false);
    expect(matchesFilter({}, event('x'))).toBe(true);
  });
});

describe('in-process bus', () => {
  it('delivers each event to the subscribers whose filters match', async () => {
    const bus = new InProcessBus();
    const seen: string[] = [];
    bus.subscribe({ name: 'a', filters: [{ type: 't1' }], deliver: async (e) => void seen.push(`a:${e.type}`) });
    bus.subscribe({
      name: 'b',
      filters: [{ type: 't1' }, { type: 't2' }],
      deliver: async (e) => void seen.push(`b:${e.type}`),
    });
    await bus.publish([event('t1'), event('t2'), event('t3')]);
    await bus.idle();
    expect(seen.sort()).toEqual(['a:t1', 'b:t1', 'b:t2']);
  });

  it('retries a failing delivery with backoff, then succeeds', async () => {
    const bus = new InProcessBus({ attempts: 4, backoffMs: 1 });
    let calls = 0;
    bus.subscribe({
      name: 'flaky',
      filters: [{ type: 't' }],
      deliver: async () => {
        if (++calls < 3) throw new Error('transient');
      },
    });
    await bus.publish([event('t')]);
    await bus.idle();
    expect(calls).toBe(3);
    expect(bus.deadLetters).toEqual([]);
  });

  it('dead-letters an event that keeps failing', async () => {
    const bus = new InProcessBus({ attempts: 2, backoffMs: 1 });
    bus.subscribe({ name: 'broken', filters: [{ type: 't' }], deliver: async () => Promise.reject(new Error('down')) });
    await bus.publish([event('t')]);
    await bus.idle();
    expect(bus.deadLetters).toHaveLength(1);
    expect(bus.deadLetters[0]?.subscriber).toBe('broken');
  });

  it('stays busy until events published by subscribers are handled too', async () => {
    const bus = new InProcessBus();
    const seen: string[] = [];
    bus.subscribe({ name: 'first', filters: [{ type: 'one' }], deliver: async () => bus.publish([event('two')]) });
    bus.subscribe({ name: 'second', filters: [{ type: 'two' }], deliver: async (e) => void seen.push(e.type) });
    await bus.publish([event('one')]);
    await bus.idle();
    expect(seen).toEqual(['two']);
  });
});

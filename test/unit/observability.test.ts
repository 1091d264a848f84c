/** Logs, traces and CloudWatch metrics, unit by unit. */
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import { EventType } from '../../events/types.ts';
import { EmfWriter } from '../../shared/observability/emf.ts';
import { createLogger, describeEvent, humanDestination } from '../../shared/observability/log.ts';
import { formatTraceparent, parseTraceparent, startStageSpan } from '../../shared/observability/trace.ts';

function collect() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

describe('logs', () => {
  it('write one JSON object per line with the level name and ISO time, redacting credentials', () => {
    const { lines, destination } = collect();
    createLogger({ env: { LOG_LEVEL: 'info' }, destination }).info(
      { stage: 'execute', config: { apiKey: 'secret-key' } },
      'submitted',
    );
    const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', stage: 'execute', msg: 'submitted', config: { apiKey: '[redacted]' } });
    expect(String(line['time'])).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(lines[0]).not.toContain('secret-key');
  });

  it('print lines for people in a terminal', () => {
    let text = '';
    const out = { write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WritableStream;
    createLogger({ env: { LOG_LEVEL: 'warn' }, destination: humanDestination(out) }).warn(
      { stage: 'validate', job: 'default/bell' },
      'rejected',
    );
    expect(text).toMatch(/^\d\d:\d\d:\d\d WARN {2}\[validate\] default\/bell rejected\n$/);
  });

  it('follow LOG_LEVEL, and name it when it is wrong', () => {
    const { lines, destination } = collect();
    const log = createLogger({ env: { LOG_LEVEL: 'warn' }, destination });
    log.info('hidden');
    log.warn('shown');
    expect(lines).toHaveLength(1);
    expect(() => createLogger({ env: { LOG_LEVEL: 'loud' } })).toThrow('LOG_LEVEL: "loud" must be one of');
  });

  it('describe an event at debug without its circuit', () => {
    const described = describeEvent(EXAMPLE_EVENTS[EventType.JobValidated]);
    expect(described).toMatchObject({ type: EventType.JobValidated, circuit: { bytes: expect.any(Number) } });
    expect(JSON.stringify(described)).not.toContain('OPENQASM');
  });
});

describe('traces', () => {
  it('start a trace at ingress and continue the parent trace with a new span elsewhere', () => {
    const ingress = startStageSpan('validate', EventType.JobRequested, undefined);
    const parent = parseTraceparent(ingress.traceparent);
    expect(parent?.traceId).toBe(ingress.traceId);
    const next = startStageSpan('select-backend', EventType.JobValidated, ingress.traceparent);
    expect(next.traceId).toBe(ingress.traceId);
    expect(parseTraceparent(next.traceparent)?.spanId).not.toBe(parent?.spanId);
  });

  it('ignore a malformed or all-zero traceparent and start anew', () => {
    for (const bad of ['00-xyz', '00-00000000000000000000000000000000-0000000000000001-01', 42]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
    const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(formatTraceparent(parseTraceparent(valid)!)).toBe(valid);
  });
});

describe('CloudWatch embedded metric format', () => {
  it('writes counter deltas per flush with their labels as dimensions', async () => {
    const registry = new Registry();
    const counter = new Counter({
      name: 'qpipe_events_total',
      help: 'h',
      labelNames: ['stage', 'outcome'],
      registers: [registry],
    });
    const emf = new EmfWriter(registry);
    counter.inc({ stage: 'execute', outcome: 'handled' }, 3);
    const [first] = await emf.documents(1_000);
    expect(first).toEqual({
      _aws: {
        Timestamp: 1_000,
        CloudWatchMetrics: [
          {
            Namespace: 'qpipe',
            Dimensions: [['stage', 'outcome']],
            Metrics: [{ Name: 'qpipe_events_total', Unit: 'Count' }],
          },
        ],
      },
      stage: 'execute',
      outcome: 'handled',
      qpipe_events_total: 3,
    });
    expect(await emf.documents()).toEqual([]);
    counter.inc({ stage: 'execute', outcome: 'handled' });
    expect((await emf.documents())[0]?.['qpipe_events_total']).toBe(1);
  });
});

/**
 * Stages under the real middy chain, fed EventBridge events shaped as the AWS
 * documentation shows them; PutEvents at the SDK boundary (no EventBridge can run here:
 * a local endpoint answers as the PutEvents API reference documents).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import type { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildEvent, parseEvent } from '../../events/envelope.ts';
import { fromEventBridge } from '../../events/eventbridge.ts';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import { EventType } from '../../events/types.ts';
import { stage as enforceBudget } from '../../functions/enforce-budget/handler.ts';
import { stage as execute } from '../../functions/execute/handler.ts';
import { stage as validate } from '../../functions/validate/handler.ts';
import { loadMetrics } from '../../shared/observability/active-metrics.ts';
import { createLogger } from '../../shared/observability/log.ts';
import { EMPTY_LEDGER } from '../../shared/budget/ledger.ts';
import { sendBodyByReference } from '../../shared/runtime/claim-check.ts';
import { createEventBridgePublisher } from '../../shared/runtime/eventbridge-publisher.ts';
import { runStage } from '../../shared/runtime/stage.ts';
import { type LambdaResult, lambdaHandler } from '../../shared/runtime/lambda.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { envelope } from '../support/eventbridge-envelope.ts';
import { budget, jobManifest } from '../support/manifests.ts';
import { MemoryObjectStore, memoryPorts, reserved } from '../support/memory-ports.ts';

const context = {} as Context;

function handlerFor(definition: Parameters<typeof lambdaHandler>[0], ports: Ports) {
  const published: CloudEvent<unknown>[] = [];
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({
    env: { LOG_LEVEL: 'info' },
    destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  // As the Lambda's composition root does: its logger and the metrics it exposes in the ports.
  const handler = lambdaHandler(definition, async () => ({
    ports: { ...ports, log, metrics: await loadMetrics() },
    publish: async (events) => void published.push(...events),
  }));
  return { invoke: (e: unknown) => handler(e, context) as unknown as Promise<LambdaResult>, published, logs };
}

describe('stages under the middy chain (EventBridge envelopes as AWS documents them)', () => {
  it('maps CloudEvents to EventBridge and back one to one', () => {
    for (const example of Object.values(EXAMPLE_EVENTS)) {
      const back = fromEventBridge(envelope(example));
      expect(back.type).toBe(example.type);
      expect(back.id).toBe(example.id);
      expect(parseEvent(back).data).toEqual(parseEvent(example).data);
      expect(parseEvent(back).extensions).toEqual(parseEvent(example).extensions);
    }
  });

  it('validates a job and publishes the validated event, logging job and stage', async () => {
    const { invoke, published, logs } = handlerFor(validate, memoryPorts());
    const result = await invoke(
      envelope(
        buildEvent(
          EventType.JobRequested,
          { job: jobManifest('bell') },
          { source: '/ci', jobuid: 'uid-bell', jobgeneration: 1 },
        ),
      ),
    );
    expect(result).toEqual({ emitted: [EventType.JobValidated] });
    expect(published.map((e) => e.type)).toEqual([EventType.JobValidated]);
    expect(logs[0]).toMatchObject({
      level: 'info',
      stage: 'validate',
      eventType: EventType.JobRequested,
      jobUid: 'uid-bell',
      msg: 'handled',
    });
    // The trace started here travels on the emitted event.
    expect(String(published[0]?.['traceparent'])).toContain(`-${String(logs[0]?.['traceId'])}-`);
  });

  it('writes the invocation’s metrics to the log in CloudWatch’s embedded metric format', async () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const { invoke } = handlerFor(validate, memoryPorts());
    await invoke(envelope(buildEvent(EventType.JobRequested, { job: jobManifest('emf') }, { source: '/ci' })));
    const documents = written
      .flatMap((w) => w.split('\n'))
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l));
    const events = documents.find((d) => 'qpipe_events_total' in d);
    expect(events).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'qpipe', Metrics: [{ Name: 'qpipe_events_total', Unit: 'Count' }] }] },
      stage: 'validate',
      outcome: 'handled',
      qpipe_events_total: 1,
    });
    expect(documents.some((d) => 'qiskitjob_duration_seconds_count' in d && d.stage === 'validate')).toBe(true);
  });

  it('turns a permanent error into a rejected event and succeeds, so EventBridge does not retry', async () => {
    const { invoke, published } = handlerFor(validate, memoryPorts());
    const result = await invoke(
      envelope(
        buildEvent(EventType.JobRequested, { job: jobManifest('bad', { execution: { shots: 0 } }) }, { source: '/ci' }),
      ),
    );
    expect(result.emitted).toEqual([EventType.JobRejected]);
    expect(result.error).toMatch(/shots: must be at least 1/);
    expect(published.map((e) => e.type)).toEqual([EventType.JobRejected]);
  });

  it('fails the invocation on a transient error, so EventBridge retries it', async () => {
    const ports = memoryPorts();
    const broken = {
      ...ports,
      store: Object.assign(new MemoryObjectStore(), { get: async () => Promise.reject(new Error('S3 timed out')) }),
    };
    const { invoke, published } = handlerFor(execute, broken);
    await expect(invoke(envelope(EXAMPLE_EVENTS[EventType.JobApproved]))).rejects.toThrow(/S3 timed out/);
    expect(published).toEqual([]);
  });

  it('has no second effect when EventBridge delivers the same event twice', async () => {
    const ports = memoryPorts({ budgets: [budget('monthly', { limit: '$100.00' }, 'quantum-research')] });
    const settle = handlerFor(enforceBudget, ports);
    const completed = envelope(EXAMPLE_EVENTS[EventType.JobCompleted], 'same-eventbridge-id');
    const data = parseEvent(EXAMPLE_EVENTS[EventType.JobCompleted]).data as { actualCostMicros: number };
    await settle.invoke({
      ...completed,
      detail: { ...completed.detail, data: { ...(completed.detail['data'] as object), actualCostMicros: 3_000_000 } },
    });
    await settle.invoke({
      ...completed,
      detail: { ...completed.detail, data: { ...(completed.detail['data'] as object), actualCostMicros: 3_000_000 } },
    });
    expect(data.actualCostMicros).toBe(0);
    expect(await ports.cluster.readBudgetStatus('quantum-research', 'monthly')).toMatchObject({ spent: '$3.00' });

    let runs = 0;
    const counted = memoryPorts();
    const inner = counted.executors.local_simulator;
    counted.executors.local_simulator = {
      type: 'local_simulator',
      execute: (request) => (runs++, inner?.execute(request) as never),
    };
    const run = handlerFor(execute, counted);
    await reserved(counted, EXAMPLE_EVENTS[EventType.JobApproved]);
    const approved = envelope(EXAMPLE_EVENTS[EventType.JobApproved], 'twice');
    await run.invoke(approved);
    await run.invoke(approved);
    expect(runs).toBe(1);
    expect(run.published.map((e) => e.id)).toEqual([run.published[0]?.id, run.published[0]?.id]);
  });

  it('drops an envelope that is not an EventBridge event without retrying', async () => {
    const { invoke, published } = handlerFor(validate, memoryPorts());
    expect(await invoke({ hello: 'world' })).toMatchObject({
      emitted: [],
      error: expect.stringMatching(/not an EventBridge event/),
    });
    expect(published).toEqual([]);
  });
});

describe('PutEvents batching and partial failure (SDK boundary: a local endpoint answers as the EventBridge API reference documents)', () => {
  let server: Server;
  let calls: { entries: { DetailType: string; Detail: string }[] }[];
  let failNext: number[];
  let refuseNext: number[] = [];
  let client: EventBridgeClient;

  beforeAll(async () => {
    calls = [];
    failNext = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        expect(req.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
        const entries = (JSON.parse(body) as { Entries: { DetailType: string; Detail: string }[] }).Entries;
        calls.push({ entries });
        const failures = failNext.splice(0);
        const refusals = refuseNext.splice(0);
        const results = entries.map((_, i) =>
          failures.includes(i)
            ? { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal Service Failure' }
            : refusals.includes(i)
              ? { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }
              : { EventId: `eb-${calls.length}-${i}` },
        );
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ FailedEntryCount: failures.length, Entries: results }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new EventBridgeClient({
      region: 'eu-west-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const events = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      buildEvent(
        EventType.JobFailed,
        { job: { namespace: 'a', name: `j${i}`, uid: `u${i}`, generation: 1 }, stage: 'execute', reason: 'x' },
        { source: '/qpipe/execute', jobuid: `u${i}`, jobgeneration: 1 },
      ),
    );

  it('sends at most 10 entries per call', async () => {
    calls.length = 0;
    await createEventBridgePublisher({ client, busName: 'qpipe', store: new MemoryObjectStore() })(events(25));
    expect(calls.map((c) => c.entries.length)).toEqual([10, 10, 5]);
  });

  it('resends only the entries that failed', async () => {
    calls.length = 0;
    failNext = [1, 4];
    await createEventBridgePublisher({ client, busName: 'qpipe', store: new MemoryObjectStore(), backoffMs: 1 })(
      events(6),
    );
    expect(calls.map((c) => c.entries.length)).toEqual([6, 2]);
    const names = (i: number) =>
      calls[i]?.entries.map((e) => (JSON.parse(e.Detail) as { data: { job: { name: string } } }).data.job.name);
    expect(names(1)).toEqual(['j1', 'j4']);
  });

  it('cuts batches by size too: a request carries at most 256 KB of entries', async () => {
    calls.length = 0;
    const large = (i: number) =>
      buildEvent(
        EventType.JobFailed,
        {
          job: { namespace: 'a', name: `l${i}`, uid: `u${i}`, generation: 1 },
          stage: 'execute',
          reason: 'x'.repeat(100_000),
        },
        { source: '/qpipe/execute' },
      );
    await createEventBridgePublisher({ client, busName: 'qpipe', store: new MemoryObjectStore() })(
      [0, 1, 2, 3, 4].map(large),
    );
    // About 100 KB each: two to a request.
    expect(calls.map((c) => c.entries.length)).toEqual([2, 2, 1]);
  });

  it('does not resend an entry PutEvents refused for good, and says which and why', async () => {
    calls.length = 0;
    refuseNext = [2];
    await expect(
      createEventBridgePublisher({ client, busName: 'qpipe', store: new MemoryObjectStore(), backoffMs: 1 })(events(4)),
    ).rejects.toThrow(/refused 1 entries.*io\.quantum\.job\.failed: MalformedDetail Detail is malformed/);
    expect(calls).toHaveLength(1);
  });

  it('sends data over 256 KB by reference through the object store', async () => {
    calls.length = 0;
    const store = new MemoryObjectStore();
    const big = buildEvent(
      EventType.JobFailed,
      { job: { namespace: 'a', name: 'big', uid: 'u', generation: 1 }, stage: 'execute', reason: 'x'.repeat(300_000) },
      { source: '/qpipe/execute' },
    );
    await createEventBridgePublisher({ client, busName: 'qpipe', store })([big]);
    const detail = JSON.parse(calls[0]?.entries[0]?.Detail ?? '{}') as { extensions: { bodyref: string } };
    expect(detail.extensions.bodyref).toBe(`events/${big.id}.json`);
    expect(store.objects.get(`events/${big.id}.json`)?.byteLength).toBeGreaterThan(300_000);
  });

  it('resolves data sent by reference on receipt: a 300 KB failed event still releases its reservation', async () => {
    const store = new MemoryObjectStore();
    const budgetRef = { namespace: 'a', name: 'team', period: '2026-11' };
    const big = buildEvent(
      EventType.JobFailed,
      {
        job: { namespace: 'a', name: 'big', uid: 'u', generation: 1 },
        stage: 'execute',
        reason: 'x'.repeat(300_000),
        budget: budgetRef,
      },
      { source: '/qpipe/execute', jobuid: 'u', jobgeneration: 1 },
    );
    const byReference = await sendBodyByReference(big, store);
    expect(JSON.stringify(byReference.data)).toBe('{}');
    const ports = memoryPorts({ budgets: [budget('team', {}, 'a')] }, { store });
    await ports.ledger.compareAndSwap('a/team/2026-11', undefined, {
      ...EMPTY_LEDGER,
      reservations: { 'u/1': { micros: 5_000_000, job: 'a/big' } },
    });
    const run = await runStage(enforceBudget, byReference, ports);
    expect(run.error).toBeUndefined();
    expect((await ports.ledger.read('a/team/2026-11')).state.reservations).toEqual({});
  });
});

/**
 * A test relay standing in for a Knative Broker: it applies the Trigger filters of
 * infra/knative/triggers.yaml (every attribute, type and source) and forwards events in
 * binary mode to stage servers, feeds their replies back in, and retries 5xx/429 and
 * connection failures with exponential backoff as the Broker's delivery spec does, then
 * hands the event to the dead-letter sink when one is routed. It lives in test/: it is not
 * a product component. Knative's real broker runs in test/e2e/knative-cluster.test.ts; this
 * one keeps the stage servers' own test (knative-stages) fast and free of the Knative build.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEvent } from 'cloudevents';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { Stage } from '../../events/types.ts';
import { matchesFilter, type TriggerFilter } from '../../shared/bus/bus.ts';
import { eventFromHttp, eventToHttp } from '../../shared/runtime/http-binding.ts';

/** One delivery the relay made, for assertions. */
export interface Delivery {
  readonly stage: string;
  readonly type: string;
  readonly status: number;
  /** How long the subscriber took to answer. */
  readonly ms: number;
}

/** A running relay. */
export interface Relay {
  readonly url: string;
  /** Where each stage is reached; filled or changed while the relay runs. */
  readonly routes: Map<Stage, string>;
  readonly deliveries: Delivery[];
  readonly deadLetters: CloudEvent<unknown>[];
  /** Resolves when nothing is in flight. */
  idle(): Promise<void>;
  publish(event: CloudEvent<unknown>): void;
  /** Calls `listener` with every event the relay routes (published or replied). */
  tap(listener: (event: CloudEvent<unknown>) => void): void;
  close(): Promise<void>;
}

/** The Trigger filters of infra/knative: for each stage, the attribute filters routing events to it. */
export function triggerFilters(): Map<Stage, TriggerFilter[]> {
  const text = readFileSync(new URL('../../infra/knative/triggers.yaml', import.meta.url), 'utf8');
  const filters = new Map<Stage, TriggerFilter[]>();
  for (const document of parseAllDocuments(text)) {
    const trigger = document.toJS() as {
      spec: { filter: { attributes: TriggerFilter }; subscriber: { ref: { name: string } } };
    };
    const stage = trigger.spec.subscriber.ref.name.replace(/^qpipe-/, '') as Stage;
    filters.set(stage, [...(filters.get(stage) ?? []), trigger.spec.filter.attributes]);
  }
  return filters;
}

/** Starts a relay that routes to the stage URLs in `stages` (a map the caller may fill after start). */
export async function startRelay(
  stages: Map<Stage, string>,
  retry = { attempts: 5, backoffMs: 100 },
  deadLetterSink?: () => string | undefined,
): Promise<Relay> {
  const filters = triggerFilters();
  const deliveries: Delivery[] = [];
  const deadLetters: CloudEvent<unknown>[] = [];
  let inFlight = 0;
  const waiters: (() => void)[] = [];
  const settle = () => {
    if (--inFlight === 0) for (const w of waiters.splice(0)) w();
  };

  // The stage's address is looked up on every attempt, as a Broker resolves its subscriber: a restarted pod has a new one.
  const deliver = async (stage: Stage, event: CloudEvent<unknown>) => {
    for (let attempt = 1; ; attempt++) {
      const { headers, body } = eventToHttp(event);
      let status = 0;
      let reply: CloudEvent<unknown> | undefined;
      const started = performance.now();
      try {
        const response = await fetch(stages.get(stage) ?? '', { method: 'POST', headers, body });
        status = response.status;
        const text = await response.text();
        if (status === 200)
          reply = eventFromHttp({ headers: Object.fromEntries(response.headers.entries()), body: text });
      } catch {
        status = 0;
      }
      deliveries.push({ stage, type: event.type, status, ms: performance.now() - started });
      if (reply) publish(reply);
      if (status >= 200 && status < 300) return;
      if (status === 400 || status === 413 || attempt >= retry.attempts) {
        deadLetters.push(event);
        const sink = deadLetterSink?.();
        if (sink) await fetch(sink, { method: 'POST', ...eventToHttp(event) }).catch(() => undefined);
        return;
      }
      await new Promise((r) => setTimeout(r, retry.backoffMs * 2 ** (attempt - 1)));
    }
  };

  const listeners: ((event: CloudEvent<unknown>) => void)[] = [];
  const publish = (event: CloudEvent<unknown>) => {
    for (const listener of listeners) listener(event);
    for (const stage of stages.keys()) {
      if (!filters.get(stage)?.some((filter) => matchesFilter(filter, event))) continue;
      inFlight++;
      void deliver(stage, event).finally(settle);
    }
  };

  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      try {
        const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
        publish(eventFromHttp({ headers, body }));
        response.writeHead(202).end();
      } catch (error) {
        response.writeHead(400).end((error as Error).message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    routes: stages,
    deliveries,
    deadLetters,
    publish,
    tap: (listener) => listeners.push(listener),
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

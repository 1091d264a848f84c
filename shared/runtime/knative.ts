/**
 * The Knative runtime: one small HTTP server that hosts one stage under the Knative
 * data-plane contract (https://knative.dev/docs/eventing/event-delivery/ and the
 * Eventing "data plane" spec): a POSTed CloudEvent (binary or structured) is validated
 * against the catalog and handled; the answer is 200 with the reply event in binary mode
 * when the stage emits one, 202 when it emits none (further events go to K_SINK), 400 for
 * an event that can never succeed (not retried), 5xx or 429 for a transient failure
 * (retried by the broker).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEvent } from 'cloudevents';
import { InvalidInputError } from '../errors.ts';
import { WorkInProgressError } from '../idempotency/claims.ts';
import { logger } from '../observability/log.ts';
import { scrape } from '../observability/metrics.ts';
import { type EventSender, eventFromHttp, eventToHttp, postEvents } from './http-binding.ts';
import type { Ports } from './ports.ts';
import { waitUntilDue } from './not-before.ts';
import { runStage, type StageDefinition } from './stage.ts';

/** Options of a stage server. */
export interface StageServerOptions {
  readonly stage: StageDefinition;
  readonly ports: Ports;
  /** Where events beyond the reply go (Knative SinkBinding sets K_SINK). */
  readonly sink?: string;
  readonly send?: EventSender;
  /** Largest request body accepted, in bytes (413 beyond). */
  readonly maxBodyBytes?: number;
  /** Per-request time limit; below Knative's default 300 s so the broker sees our answer, not its own timeout. */
  readonly timeoutMs?: number;
  readonly log?: (line: Record<string, unknown>) => void;
}

/** A running stage server. */
export interface StageServer {
  readonly server: Server;
  /** Listens and resolves to the URL it serves on. */
  listen(port: number, host?: string): Promise<string>;
  /** Stops accepting requests, finishes the ones in flight, then closes. */
  shutdown(): Promise<void>;
}

class PayloadTooLargeError extends InvalidInputError {}

function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new PayloadTooLargeError('body', `is larger than ${limit} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function headersOf(request: IncomingMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
  );
}

/** Answers a Prometheus scrape. */
export async function serveMetrics(response: ServerResponse): Promise<void> {
  const { body, contentType } = await scrape();
  response.writeHead(200, { 'content-type': contentType });
  response.end(body);
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** Creates the HTTP server for one stage. */
export function createStageServer(options: StageServerOptions): StageServer {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 240_000;
  const send = options.send ?? postEvents;
  const log =
    options.log ??
    ((line) => {
      const { level, msg, ...rest } = line as { level: 'info' | 'warn' | 'error'; msg: string };
      logger()[level](rest, msg);
    });
  let ready = true;
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const handleEvent = async (request: IncomingMessage, response: ServerResponse) => {
    let event: CloudEvent<unknown>;
    try {
      event = eventFromHttp({ headers: headersOf(request), body: await readBody(request, maxBodyBytes) });
    } catch (error) {
      const status = error instanceof PayloadTooLargeError ? 413 : 400;
      json(response, status, { error: (error as Error).message });
      return;
    }
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    const run = await Promise.race([runStage(options.stage, event, options.ports), timeout]);
    if (run === 'timeout') {
      log({
        level: 'error',
        stage: options.stage.stage,
        type: event.type,
        id: event.id,
        msg: `timed out after ${timeoutMs} ms`,
      });
      json(response, 503, { error: `stage ${options.stage.stage} did not finish within ${timeoutMs} ms` });
      return;
    }
    if (run.retry !== undefined) {
      log({
        level: 'warn',
        stage: options.stage.stage,
        type: event.type,
        id: event.id,
        msg: String((run.retry as Error).message ?? run.retry),
      });
      if (run.retry instanceof WorkInProgressError) {
        // Another copy is running: ask the broker to come back when its lease would lapse.
        const seconds = Math.max(1, Math.ceil((run.retry.until - Date.now()) / 1000));
        response.setHeader('retry-after', String(seconds));
        json(response, 503, { error: run.retry.message });
        return;
      }
      json(response, 500, { error: 'transient failure; retry' });
      return;
    }
    if (run.error !== undefined && run.emitted.length === 0) {
      // A permanently bad event that is about no job: say so, and ask not to retry.
      json(response, 400, { error: run.error });
      return;
    }
    await waitUntilDue(run.emitted);
    const [reply, ...rest] = run.emitted;
    if (rest.length > 0) {
      if (!options.sink) {
        json(response, 500, { error: 'the stage emitted several events but K_SINK is not set' });
        return;
      }
      try {
        await send(options.sink, rest);
      } catch (error) {
        log({
          level: 'warn',
          stage: options.stage.stage,
          msg: `publishing to K_SINK failed: ${(error as Error).message}`,
        });
        json(response, 502, { error: 'could not publish to the broker; retry' });
        return;
      }
    }
    if (!reply) {
      response.writeHead(202).end();
      return;
    }
    const message = eventToHttp(reply);
    response.writeHead(200, message.headers);
    response.end(message.body);
  };

  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/healthz') return json(response, 200, { status: 'ok' });
    if (request.method === 'GET' && path === '/readyz') return json(response, ready ? 200 : 503, { ready });
    if (request.method === 'GET' && path === '/metrics') return void serveMetrics(response);
    if (request.method !== 'POST' || path !== '/') return json(response, 404, { error: 'POST CloudEvents to /' });
    if (!ready) return json(response, 503, { error: 'shutting down' });
    inFlight++;
    handleEvent(request, response)
      .catch((error: unknown) => {
        log({ level: 'error', stage: options.stage.stage, msg: (error as Error).message });
        if (!response.headersSent) json(response, 500, { error: 'internal error' });
      })
      .finally(() => {
        if (--inFlight === 0) drained?.();
      });
  });

  return {
    server,
    listen: (port, host = '0.0.0.0') =>
      new Promise((resolve) => {
        server.listen(port, host, () => {
          const address = server.address() as AddressInfo;
          resolve(`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`);
        });
      }),
    shutdown: async () => {
      ready = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      server.closeIdleConnections();
      await closed;
    },
  };
}

/**
 * The one HTTP host of every qpipe server (a Knative stage, the timer, the dead-letter
 * sink, `qpipe serve`'s pipeline ingress): one body limit enforced while reading, health
 * (/healthz, /readyz), Prometheus metrics (on the request port, or on a port of their own
 * so scrapes bypass Knative's queue-proxy and let revisions scale to zero), and a shutdown
 * that stops taking requests and drains those in flight. Each server supplies only what
 * POST / means to it, and any extra GET routes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEvent } from 'cloudevents';
import { scrape } from '../observability/metrics.ts';
import { eventFromHttp } from './http-binding.ts';

/** What a route answers. */
export interface HostReply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown;
}

/** A request as a route sees it: headers and the whole body, already within the limit. */
export interface HostRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Options of a host. */
export interface HttpHostOptions {
  /** Handles POST /. */
  readonly post: (request: HostRequest) => Promise<HostReply>;
  /** Answers other GET paths, or undefined for 404. */
  readonly get?: (path: string) => Promise<HostReply> | undefined;
  /** Largest request body, in bytes: 413 as soon as a request passes it. */
  readonly maxBodyBytes?: number;
  /** POSTs handled at once; more are answered 503 with Retry-After at once (default 64). Health is never limited. */
  readonly maxConcurrentPosts?: number;
  /** Serve /metrics on this port instead of the request port. */
  readonly metricsPort?: number;
  /** Says what the 404 answer lists. */
  readonly routes?: string;
  /** How long a request body may take to arrive: 408 and the connection closed after (default 10 s). */
  readonly bodyDeadlineMs?: number;
}

/** A running host. */
export interface HttpHost {
  readonly server: Server;
  /** Listens and resolves to the URL it serves on. */
  listen(port: number, host?: string): Promise<string>;
  /** Stops accepting requests, gives those in flight `graceMs` (default 20 s) to finish, then closes. */
  shutdown(graceMs?: number): Promise<void>;
}

function send(response: ServerResponse, reply: HostReply): void {
  if (response.headersSent) return;
  const text = typeof reply.body === 'string' ? reply.body : reply.body === undefined ? '' : JSON.stringify(reply.body);
  const type = typeof reply.body === 'string' || reply.body === undefined ? {} : { 'content-type': 'application/json' };
  response.writeHead(reply.status, { ...type, ...reply.headers });
  response.end(text);
}

function headersOf(request: IncomingMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
  );
}

/**
 * Reads a body: 'too large' as soon as it passes the limit (a chunked body is never read
 * whole), 'too slow' when it has not all arrived by the deadline (a client trickling a byte at
 * a time holds no slot for longer).
 */
function readBody(
  request: IncomingMessage,
  limit: number,
  deadlineMs: number,
): Promise<{ text: string } | { refused: 'too large' | 'too slow' }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Stop reading: the answer closes the connection, so the rest is never received.
    const stop = (refused: 'too large' | 'too slow') => {
      clearTimeout(timer);
      request.removeAllListeners('data');
      request.pause();
      resolve({ refused });
    };
    const timer = setTimeout(() => stop('too slow'), deadlineMs);
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return stop('too large');
      chunks.push(chunk);
    });
    request.on('end', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('utf8') });
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function metricsReply(): Promise<HostReply> {
  const { body, contentType } = await scrape();
  return { status: 200, headers: { 'content-type': contentType }, body };
}

/** Creates a host; call listen() to start it. */
export function createHttpHost(options: HttpHostOptions): HttpHost {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const bodyDeadlineMs = options.bodyDeadlineMs ?? 10_000;
  let ready = true;
  const maxConcurrentPosts = options.maxConcurrentPosts ?? 64;
  let inFlight = 0;
  let posts = 0;
  let drained: (() => void) | undefined;
  const metricsServer =
    options.metricsPort === undefined
      ? undefined
      : createServer((request, response) => {
          if (request.method === 'GET' && (request.url ?? '').split('?')[0] === '/metrics') {
            void metricsReply().then((reply) => send(response, reply));
          } else send(response, { status: 404, body: { error: 'GET /metrics' } });
        });

  const route = async (request: IncomingMessage): Promise<HostReply> => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (request.method === 'GET') {
      if (path === '/healthz') return { status: 200, body: { status: 'ok' } };
      if (path === '/readyz') return { status: ready ? 200 : 503, body: { ready } };
      if (path === '/metrics' && !metricsServer) return metricsReply();
      const reply = options.get?.(path);
      if (reply) return reply;
    }
    if (request.method !== 'POST' || path !== '/') {
      return { status: 404, body: { error: options.routes ?? 'POST CloudEvents to /' } };
    }
    if (!ready) return { status: 503, headers: { 'retry-after': '1' }, body: { error: 'shutting down' } };
    if (posts >= maxConcurrentPosts) {
      return {
        status: 503,
        headers: { 'retry-after': '1', connection: 'close' },
        body: { error: 'busy' },
      };
    }
    posts++;
    try {
      const body = await readBody(request, maxBodyBytes, bodyDeadlineMs);
      if ('refused' in body && body.refused === 'too large') {
        return {
          status: 413,
          headers: { connection: 'close' },
          body: { error: `body larger than ${maxBodyBytes} bytes` },
        };
      }
      if ('refused' in body) {
        return {
          status: 408,
          headers: { connection: 'close' },
          body: { error: `the body did not arrive within ${bodyDeadlineMs / 1000} s` },
        };
      }
      return await options.post({ headers: headersOf(request), body: body.text });
    } finally {
      posts--;
    }
  };

  // A client that trickles its request is cut off instead of holding a connection open; the
  // timeouts are checked every second (Node's default, 30 s, let them run to a minute).
  const server = createServer(
    { requestTimeout: 30_000, headersTimeout: 10_000, connectionsCheckingInterval: 1_000 },
    (request, response) => {
      inFlight++;
      void route(request)
        .catch((error: unknown) => ({ status: 500, body: { error: `internal error: ${(error as Error).message}` } }))
        .then((reply) => send(response, reply))
        .finally(() => {
          if (--inFlight === 0) drained?.();
        });
    },
  );

  const listenOn = (target: Server, port: number, host: string) =>
    new Promise<number>((resolve, reject) => {
      target.once('error', reject);
      target.listen(port, host, () => resolve((target.address() as AddressInfo).port));
    });

  return {
    server,
    listen: async (port, host = '0.0.0.0') => {
      const bound = await listenOn(server, port, host);
      if (metricsServer && options.metricsPort !== undefined) await listenOn(metricsServer, options.metricsPort, host);
      return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}`;
    },
    shutdown: async (graceMs = 20_000) => {
      ready = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
        ]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      metricsServer?.close();
      await closed;
    },
  };
}

/** A POST / route that reads a CloudEvent (binary or structured), answering 400 for anything else. */
export function cloudEventRoute(
  handle: (event: CloudEvent<unknown>) => Promise<HostReply>,
): (request: HostRequest) => Promise<HostReply> {
  return async (request) => {
    let event: CloudEvent<unknown>;
    try {
      event = eventFromHttp(request);
    } catch (error) {
      return { status: 400, body: { error: (error as Error).message } };
    }
    return handle(event);
  };
}

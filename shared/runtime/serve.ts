/**
 * Starting servers: one stage as a Knative service, or the whole pipeline behind one
 * ingress (`qpipe serve`, the development broker). Both stop gracefully on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isCatalogType } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { loadConfig, type QpipeConfig } from '../config.ts';
import type { InvalidInputError } from '../errors.ts';
import { ConfigError } from '../errors.ts';
import { loadManifests } from '../manifests.ts';
import { logger } from '../observability/log.ts';
import { loadMetrics } from '../observability/active-metrics.ts';
import { createDeployedPorts } from './deployed-ports.ts';
import { createEmbeddedPipeline, createLocalPorts } from './embedded.ts';
import { eventFromHttp } from './http-binding.ts';
import { createStageServer, serveMetrics } from './knative.ts';
import type { StageDefinition } from './stage.ts';

/** Where a server listens and what it knows. */
export interface ServeOptions {
  readonly config: QpipeConfig;
  readonly port: number;
  readonly host?: string;
  /** Manifest files whose budgets, backends and ConfigMaps the local cluster serves. */
  readonly resources?: readonly string[];
  readonly sink?: string;
}

/** A started server. */
export interface Serving {
  readonly url: string;
  stop(): Promise<void>;
}

async function localResources(files: readonly string[]) {
  const manifests = await loadManifests(files);
  if (manifests.errors.length > 0) throw manifests.errors[0] as InvalidInputError;
  return manifests;
}

function stopOnSignals(stop: () => Promise<void>): void {
  const handler = () => {
    void stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}

/** Serves one stage over HTTP CloudEvents. */
export async function serveStage(stage: StageDefinition, options: ServeOptions): Promise<Serving> {
  await loadMetrics();
  const ports = await createDeployedPorts(options.config, await localResources(options.resources ?? []));
  const server = createStageServer({ stage, ports, ...(options.sink ? { sink: options.sink } : {}) });
  const url = await server.listen(options.port, options.host);
  stopOnSignals(server.shutdown);
  return { url, stop: server.shutdown };
}

/** The entry point of a stage's container: configuration from the environment (PORT, K_SINK). */
export async function serveStageFromEnvironment(stage: StageDefinition): Promise<void> {
  const env = process.env;
  const port = Number(env['PORT'] ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError('PORT', `"${env['PORT']}" is not a port`);
  const resources = env['QPIPE_RESOURCES']?.split(',').filter(Boolean) ?? [];
  const serving = await serveStage(stage, {
    config: loadConfig(env),
    port,
    resources,
    ...(env['K_SINK'] ? { sink: env['K_SINK'] } : {}),
  });
  logger().info({ stage: stage.stage }, `listening on ${serving.url}`);
}

const INGRESS_TYPES = new Set<string>([
  EventType.JobRequested,
  EventType.ResourceAdded,
  EventType.ResourceUpdated,
  EventType.ResourceDeleted,
]);

/**
 * The whole pipeline in one process behind one ingress: POST / accepts job requests and
 * ApiServerSource events; GET /jobs/<namespace>/<name> answers the job's status.
 */
export async function servePipeline(stages: readonly StageDefinition[], options: ServeOptions): Promise<Serving> {
  await loadMetrics();
  const ports = await createLocalPorts(options.config, await localResources(options.resources ?? []));
  const pipeline = createEmbeddedPipeline({ stages, ports });
  let ready = true;
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method === 'GET' && path === '/healthz') return reply(200, { status: 'ok' });
    if (request.method === 'GET' && path === '/readyz') return reply(ready ? 200 : 503, { ready });
    if (request.method === 'GET' && path === '/metrics') return void serveMetrics(response);
    const job = /^\/jobs\/([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(path);
    if (request.method === 'GET' && job) {
      void ports.cluster
        .readJobStatus(job[1] as string, job[2] as string)
        .then((status) =>
          status
            ? reply(200, { namespace: job[1], name: job[2], status })
            : reply(404, { error: `no job ${job[1]}/${job[2]}` }),
        );
      return;
    }
    if (request.method !== 'POST' || path !== '/')
      return reply(404, { error: 'POST CloudEvents to /, GET /jobs/<namespace>/<name>, GET /metrics' });
    if (!ready) return reply(503, { error: 'shutting down' });
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 1024 * 1024) chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > 1024 * 1024) return reply(413, { error: 'body larger than 1 MiB' });
      try {
        const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
        const event = eventFromHttp({ headers, body: Buffer.concat(chunks).toString('utf8') });
        if (!isCatalogType(event.type) || !INGRESS_TYPES.has(event.type)) {
          return reply(400, { error: `the ingress accepts ${[...INGRESS_TYPES].join(', ')}, not ${event.type}` });
        }
        void pipeline.publish([event]);
        return reply(202, { accepted: event.id, subject: event.subject ?? null });
      } catch (error) {
        return reply(400, { error: (error as Error).message });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '127.0.0.1', resolve));
  const url = `http://${options.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const stop = async () => {
    ready = false;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await pipeline.idle();
  };
  stopOnSignals(stop);
  return { url, stop };
}

/**
 * The broker's dead-letter sink: accepts any CloudEvent that could not be delivered after
 * every retry and records it in the store (`dead-letters/`), so nothing is lost silently.
 */
export async function serveDeadLetters(options: ServeOptions): Promise<Serving> {
  const metrics = await loadMetrics();
  const ports = await createDeployedPorts(options.config, await localResources(options.resources ?? []));
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (request.method === 'GET' && path === '/metrics') return void serveMetrics(response);
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
      let record: unknown;
      try {
        record = eventFromHttp({ headers, body }).toJSON();
      } catch {
        record = { headers, body };
      }
      const key = `dead-letters/${new Date().toISOString().replace(/[:.]/g, '-')}-${crypto.randomUUID().slice(0, 8)}.json`;
      ports.store
        .put(key, JSON.stringify(record, null, 2), 'application/json')
        .then(() => {
          const type = String((record as { type?: unknown }).type ?? 'unknown');
          metrics.deadLetters.inc({ type: isCatalogType(type) ? type : 'other' });
          logger().warn({ stage: 'dead-letters', key, eventType: type }, 'dead letter recorded');
          response.writeHead(202).end();
        })
        .catch(() => response.writeHead(500).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '127.0.0.1', resolve));
  const url = `http://${options.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  stopOnSignals(stop);
  return { url, stop };
}

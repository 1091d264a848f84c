/**
 * Starting servers, all on the one HTTP host (http-host.ts): a stage as a Knative service,
 * the timer a PingSource ticks, the broker's dead-letter sink, or the whole pipeline behind
 * one ingress (`qpipe serve`, the development broker). Each stops gracefully on SIGTERM.
 */
import { watchSecretFiles } from '../secrets.ts';
import type { CloudEvent } from 'cloudevents';
import { buildJobEvent, isCatalogType, parseEvent } from '../../events/envelope.ts';
import { EventType, Stage, stageSource } from '../../events/types.ts';
import { type QpipeConfig, requireSimulatorFits } from '../config.ts';
import type { InvalidInputError } from '../errors.ts';
import { ConfigError } from '../errors.ts';
import { loadManifests } from '../manifests.ts';
import { logger } from '../observability/log.ts';
import { loadMetrics } from '../observability/active-metrics.ts';
import type { Metrics } from '../observability/metrics.ts';
import { StoreScheduler } from '../scheduler/store-scheduler.ts';
import { createDeployedPorts } from './deployed-ports.ts';
import { createEmbeddedPipeline, createLocalPorts } from './embedded.ts';
import { eventFromHttp, postEvents } from './http-binding.ts';
import { Inbox, type InboxReplay } from './inbox.ts';
import { cloudEventRoute, createHttpHost, type HttpHost } from './http-host.ts';
import { createStageServer } from './knative.ts';
import type { Ports } from './ports.ts';
import type { StageDefinition } from './stage.ts';
import { type BudgetCluster, type ResyncCluster, tick } from './timer.ts';

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

/** The ports of a deployed piece (a stage, the timer, the dead-letter sink): shared storage, metrics exposed. */
async function deployedPorts(options: ServeOptions): Promise<Ports & { readonly metrics: Metrics }> {
  requireSharedStore(options.config);
  const metrics = await loadMetrics();
  const ports = await createDeployedPorts(options.config, await localResources(options.resources ?? []), { metrics });
  return { ...ports, metrics };
}

/**
 * On Kubernetes every stage is a pod of its own with its own filesystem: state must be
 * shared, or results, ledgers and claims silently split between pods.
 */
function requireSharedStore(config: QpipeConfig): void {
  if (config.cluster === 'kubernetes' && !config.s3) {
    throw new ConfigError(
      'QPIPE_S3_BUCKET',
      'is required on Kubernetes: the stages run in separate pods and share results, ledgers, claims and ' +
        'scheduled events through S3 or an S3-compatible store. Set QPIPE_S3_BUCKET (and AWS_ENDPOINT_URL_S3 ' +
        'for MinIO) in the qpipe-config ConfigMap',
    );
  }
}

/** Time a server gets after SIGTERM before it exits (Kubernetes' default grace is 30 s). */
const SHUTDOWN_GRACE_MS = 20_000;

/** Listens; SIGTERM and SIGINT stop the host, then `close` (the server's own work), within the grace period. */
async function start(
  host: HttpHost,
  options: ServeOptions,
  close: (remainingMs: number) => Promise<void> = async () => {},
) {
  let url: string;
  try {
    url = await host.listen(options.port, options.host);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      // The request port or the metrics port (QPIPE_METRICS_PORT): name the one that is taken.
      const taken = (error as { port?: number }).port ?? options.port;
      throw new ConfigError(
        taken === options.port ? '--port' : 'QPIPE_METRICS_PORT',
        `port ${taken} is already in use`,
      );
    }
    throw error;
  }
  const stop = async () => {
    // One grace period for both: what the host's requests leave of it, the server's own work gets.
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    await host.shutdown(SHUTDOWN_GRACE_MS);
    await close(Math.max(0, deadline - Date.now()));
  };
  const handler = () => {
    // Whatever happens to the graceful path, the process is gone by the end of the grace period.
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS + 5_000).unref();
    void stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
  // A rotated credential file: stop as on SIGTERM, and the supervisor (Kubernetes) starts the
  // process again, which reads the new value.
  watchSecretFiles(process.env, (setting) => {
    logger().warn({ setting }, `${setting} changed: stopping to start again with the new value`);
    handler();
  });
  return { url, stop } satisfies Serving;
}

/** Serves one stage over HTTP CloudEvents. */
export async function serveStage(stage: StageDefinition, options: ServeOptions): Promise<Serving> {
  if (stage.stage === Stage.Execute) requireSimulatorFits(options.config);
  const deployed = await deployedPorts(options);
  // A broker delivers at once: delayed events wait in the shared store for the timer.
  const ports = { ...deployed, scheduler: new StoreScheduler(deployed.store) };
  const server = createStageServer({
    stage,
    ports,
    timeoutMs: options.config.stageTimeoutSeconds * 1000,
    ...(options.sink ? { sink: options.sink } : {}),
    ...(options.config.metricsPort === undefined ? {} : { metricsPort: options.config.metricsPort }),
  });
  return start(server, options);
}

/**
 * The timer: every POST (a PingSource's tick) releases the scheduled events that are due
 * to K_SINK and, on Kubernetes, requests stalled jobs again. With QPIPE_TIMER_INTERVAL_SECONDS
 * it also ticks itself (a setup without a PingSource).
 */
export async function serveTimer(options: ServeOptions): Promise<Serving> {
  const ports = await deployedPorts(options);
  const sink = options.sink;
  if (!sink) throw new ConfigError('K_SINK', 'the timer publishes to the broker: set K_SINK (a SinkBinding does)');
  const cluster = ports.cluster as Partial<ResyncCluster & BudgetCluster>;
  const resyncCluster = cluster.listJobObjects && cluster.namespaceLabels ? (cluster as ResyncCluster) : undefined;
  const budgetCluster = (cluster as Partial<BudgetCluster>).listResourceObjects
    ? (cluster as BudgetCluster)
    : undefined;
  const scheduler = new StoreScheduler(ports.store);
  const log = logger().child({ stage: 'timer' });
  // Ticks never overlap: a slow one makes the next wait.
  let running = Promise.resolve();
  const runTick = () => {
    const next = running.then(async () => {
      const report = await tick({
        scheduler,
        store: ports.store,
        publish: (events: CloudEvent<unknown>[]) => postEvents(sink, events),
        now: ports.now,
        ...(resyncCluster
          ? { resync: { cluster: resyncCluster, afterMs: options.config.resyncAfterSeconds * 1000 } }
          : {}),
        ...(budgetCluster ? { budgetGauges: { cluster: budgetCluster, metrics: ports.metrics } } : {}),
      });
      if (report.released > 0 || report.requested.length > 0) log.info(report, 'tick');
      return report;
    });
    running = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  };
  const interval =
    options.config.timerIntervalSeconds === undefined
      ? undefined
      : setInterval(
          () => void runTick().catch((error: unknown) => log.warn(String(error))),
          options.config.timerIntervalSeconds * 1000,
        );
  const host = createHttpHost({
    ...(options.config.metricsPort === undefined ? {} : { metricsPort: options.config.metricsPort }),
    post: async () => {
      try {
        return { status: 200, body: await runTick() };
      } catch (error) {
        log.warn({ err: String(error) }, 'tick failed');
        return { status: 500, body: { error: (error as Error).message } };
      }
    },
  });
  return start(host, options, () => {
    if (interval) clearInterval(interval);
    return Promise.resolve();
  });
}

const API_SERVER_TYPES = new Set<string>([
  EventType.ResourceAdded,
  EventType.ResourceUpdated,
  EventType.ResourceDeleted,
]);

/**
 * The whole pipeline in one process behind one ingress: POST / accepts job requests and
 * cancellations;
 * GET /jobs/<namespace>/<name> answers the job's status. API-server events are refused:
 * they speak for a cluster, and this process has none to check them against.
 */
export async function servePipeline(stages: readonly StageDefinition[], options: ServeOptions): Promise<Serving> {
  const metrics = await loadMetrics();
  const ports = await createLocalPorts(options.config, await localResources(options.resources ?? []), undefined, {
    metrics,
    // What `qpipe apply` stored counts, as it does for a deployed stage.
    withStoredResources: true,
  });
  const pipeline = createEmbeddedPipeline({ stages, ports });
  const inbox = new Inbox(ports.store, ports.cluster, options.config.maxAttempts);
  // Requests acknowledged before a crash or a stop, whose jobs did not finish, run again;
  // one that kept killing the server ends instead.
  const { replay, quarantined } = await inbox.unfinished();
  await pipeline.publish([...quarantined.map(quarantinedRejection), ...replay]);
  const host = createHttpHost({
    routes: 'POST CloudEvents to /, GET /jobs/<namespace>/<name>, GET /metrics',
    get: (path) => {
      const job = /^\/jobs\/([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(path);
      if (!job) return undefined;
      const [namespace, name] = [job[1] as string, job[2] as string];
      return ports.cluster
        .readJobStatus(namespace, name)
        .then((status) =>
          status
            ? { status: 200, body: { namespace, name, status } }
            : { status: 404, body: { error: `no job ${namespace}/${name}` } },
        );
    },
    post: cloudEventRoute(async (event) => {
      if (API_SERVER_TYPES.has(event.type)) {
        return {
          status: 403,
          body: {
            error: `${event.type} speaks for a Kubernetes API server; qpipe serve has no cluster to check it against, so it accepts only ${EventType.JobRequested} and ${EventType.JobCancel}`,
          },
        };
      }
      if (event.type !== EventType.JobRequested && event.type !== EventType.JobCancel) {
        return {
          status: 400,
          body: {
            error: `the ingress accepts ${EventType.JobRequested} and ${EventType.JobCancel}, not ${event.type}`,
          },
        };
      }
      let accepted: CloudEvent<unknown>;
      try {
        // A request that cannot become a job (a bare manifest as data, say) is refused here, not lost later;
        // one that can is kept as JSON, whatever content type it came with, so a restart reads it back.
        const typed = parseEvent(event);
        accepted = event.cloneWith({ data: typed.data, datacontenttype: 'application/json' }, false);
      } catch (error) {
        return { status: 400, body: { error: (error as Error).message } };
      }
      if (pipeline.bus.pending >= options.config.maxQueuedEvents) {
        return { status: 503, headers: { 'retry-after': '5' }, body: { error: 'the pipeline is full; retry later' } };
      }
      // A request is kept until its job is final; a cancellation acts at once and is not
      // replayed (lost in a crash, it is sent again: cancelling twice is harmless).
      if (accepted.type === EventType.JobRequested) await inbox.add(accepted);
      await pipeline.publish([accepted]);
      return { status: 202, body: { accepted: event.id, subject: event.subject ?? null } };
    }),
  });
  return start(host, { ...options, host: options.host ?? '127.0.0.1' }, async (remainingMs) => {
    // Unfinished work stays in the inbox for the next start.
    await pipeline.bus.close(remainingMs);
    await inbox.stoppedCleanly();
  });
}

/** The end of a job whose request kept killing the server: rejected, with the reason. */
function quarantinedRejection({ job, crashes }: InboxReplay['quarantined'][number]): CloudEvent<unknown> {
  return buildJobEvent(
    EventType.JobRejected,
    {
      job,
      stage: 'ingress',
      reason: `qpipe serve stopped ${crashes} times while processing this request (a crash or an exhausted process); it is quarantined in the dead letters and will not run again`,
    },
    job,
    { source: stageSource(Stage.Validate) },
  );
}

/**
 * The broker's dead-letter sink: accepts any CloudEvent that could not be delivered after
 * every retry and records it in the store (`dead-letters/`), so nothing is lost silently.
 */
export async function serveDeadLetters(options: ServeOptions): Promise<Serving> {
  const ports = await deployedPorts(options);
  const host = createHttpHost({
    ...(options.config.metricsPort === undefined ? {} : { metricsPort: options.config.metricsPort }),
    post: async (request) => {
      let record: unknown;
      try {
        record = eventFromHttp(request).toJSON();
      } catch {
        record = request;
      }
      const key = `dead-letters/${new Date().toISOString().replace(/[:.]/g, '-')}-${crypto.randomUUID().slice(0, 8)}.json`;
      await ports.store.put(key, JSON.stringify(record, null, 2), 'application/json');
      const declared = (record as { type?: unknown }).type;
      const type = typeof declared === 'string' ? declared : 'unknown';
      ports.metrics.deadLetters.inc({ type: isCatalogType(type) ? type : 'other' });
      logger().warn({ stage: 'dead-letters', key, eventType: type }, 'dead letter recorded');
      return { status: 202 };
    },
  });
  return start(host, { ...options, host: options.host ?? '127.0.0.1' });
}

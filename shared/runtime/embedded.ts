/**
 * The embedded default: every stage in one process, chained by the in-process bus with
 * the same Trigger filters a cluster uses, over local ports (folder store, file ledger,
 * outbox mail, the built-in simulator).
 */
import type { CloudEvent } from 'cloudevents';
import { subscriptionFilters } from '../../events/types.ts';
import { providerExecutors } from '../backends/providers.ts';
import { createLocalSimulatorExecutor } from '../backends/local-simulator.ts';
import { ObjectLedgerStore } from '../budget/object-ledger-store.ts';
import { LocalCluster, type LocalResources } from '../cluster/local-cluster.ts';
import type { QpipeConfig } from '../config.ts';
import type { Mailer } from '../mail/mailer.ts';
import { OutboxMailer } from '../mail/outbox-mailer.ts';
import { InProcessBus } from '../bus/in-process-bus.ts';
import { cachedResources, withStored } from '../resources/resource-store.ts';
import { createCircuitFetcher } from '../storage/fetch-circuit.ts';
import { LocalObjectStore } from '../storage/local-object-store.ts';
import { DeviceStatusCache } from '../backends/device-status.ts';
import { RecentEvents } from '../idempotency/recent-events.ts';
import { logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Ports } from './ports.ts';
import type { RunOwner } from './run-owner.ts';
import { RunningWork } from './running-work.ts';
import { runStage, type StageDefinition } from './stage.ts';

/** The configured mail transport; SMTP and SES load only when chosen. */
async function createMailer(config: QpipeConfig, store: LocalObjectStore): Promise<Mailer> {
  switch (config.mail.transport) {
    case 'outbox':
      return new OutboxMailer(store, config.mail.from);
    case 'smtp': {
      const { SmtpMailer } = await import('../mail/smtp-mailer.ts');
      return new SmtpMailer(config.mail.smtpUrl as string, config.mail.from);
    }
    case 'ses': {
      const [{ SesMailer }, { SESv2Client }] = await Promise.all([
        import('../mail/ses-mailer.ts'),
        import('@aws-sdk/client-sesv2'),
      ]);
      return new SesMailer(new SESv2Client({}), config.mail.from);
    }
  }
}

/** Local implementations of every port, rooted at the configured store folder. */
export async function createLocalPorts(
  config: QpipeConfig,
  resources: LocalResources,
  now: () => Date = () => new Date(),
  options: {
    /** Circuits by URL from any public host unless QPIPE_CIRCUIT_URL_HOSTS says otherwise (`qpipe run`, one user's own jobs). */
    readonly publicCircuitUrls?: boolean;
    /** The metrics, for runtimes that expose them. */
    readonly metrics?: Metrics;
    /** This process's jobs die with it (`qpipe run`): its reservations name it as their owner. */
    readonly runOwner?: RunOwner;
    /** The store's resources (`qpipe apply`, earlier runs) count too, the given ones winning. */
    readonly withStoredResources?: boolean;
  } = {},
): Promise<Ports> {
  const store = new LocalObjectStore(config.storeDir);
  const { metrics, runOwner } = options;
  const stored = cachedResources(store);
  return {
    config,
    store,
    cluster: new LocalCluster(
      options.withStoredResources === true ? async () => withStored(resources, await stored()) : resources,
      store,
    ),
    ledger: new ObjectLedgerStore(store),
    executors: {
      local_simulator: createLocalSimulatorExecutor(config.simulator, metrics),
      ...providerExecutors(config),
    },
    mailer: await createMailer(config, store),
    now,
    log: logger(),
    ...(metrics ? { metrics } : {}),
    ...(runOwner ? { runOwner } : {}),
    running: new RunningWork(),
    deviceStatus: new DeviceStatusCache(),
    recentEvents: new RecentEvents(),
    fetchCircuit: createCircuitFetcher({
      ...config.circuitUrls,
      hosts: config.circuitUrls.hosts ?? (options.publicCircuitUrls === true ? ['*'] : []),
    }),
  };
}

/** A problem one stage reported while handling one event. */
export interface StageReport {
  readonly stage: string;
  readonly eventType: string;
  readonly subject: string | undefined;
  readonly message: string;
}

/** The running pipeline. */
export interface EmbeddedPipeline {
  readonly bus: InProcessBus;
  readonly ports: Ports;
  /** Problems stages reported (bad events, rejections), in order. */
  readonly reports: StageReport[];
  publish(events: readonly CloudEvent<unknown>[]): Promise<void>;
  /** Resolves when no event is in flight. */
  idle(): Promise<void>;
  /** Resolves when nothing runs or is queued: what is left only waits for its time (a re-check, a poll). */
  settled(): Promise<void>;
}

/** Wires stages to an in-process bus over the given ports. */
export function createEmbeddedPipeline(options: {
  stages: readonly StageDefinition[];
  ports: Ports;
  /** Sees every event published on the bus (progress display, tests). */
  observe?: (event: CloudEvent<unknown>) => void;
  /** Stops the stages' work when aborted (`qpipe run` interrupted): what runs and what would start fails. */
  signal?: AbortSignal;
}): EmbeddedPipeline {
  const bus = new InProcessBus({ attempts: options.ports.config.maxAttempts + 1, backoffMs: 20 });
  if (options.observe) {
    const observe = options.observe;
    bus.subscribe({
      name: 'observer',
      filters: [{}],
      deliver: (event) => {
        observe(event);
        return Promise.resolve();
      },
    });
  }
  const reports: StageReport[] = [];
  const stagePorts = options.signal ? { ...options.ports, signal: options.signal } : options.ports;
  for (const definition of options.stages) {
    bus.subscribe({
      name: definition.stage,
      // The same type-and-source filters the Triggers and rules apply.
      filters: subscriptionFilters(definition.stage),
      deliver: async (event) => {
        const run = await runStage(definition, event, stagePorts);
        if (run.error !== undefined) {
          reports.push({ stage: definition.stage, eventType: event.type, subject: event.subject, message: run.error });
        }
        await bus.publish(run.emitted);
        // Thrown so the bus retries with backoff; permanent errors were mapped to events above.
        if (run.retry !== undefined) throw run.retry;
      },
    });
  }
  return {
    bus,
    ports: options.ports,
    reports,
    publish: (events) => bus.publish(events),
    idle: () => bus.idle(),
    settled: () => bus.settled(),
  };
}

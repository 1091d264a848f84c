/**
 * The Lambda runtime: a stage's handler under middy, with middleware in middy's shape
 * (`(options) => ({ before, after, onError })`) that turns the EventBridge envelope into
 * the catalog's CloudEvent, writes metrics in CloudWatch's embedded format, and publishes what the
 * stage emitted with PutEvents. A permanent error became a `rejected`/`failed` event in
 * runStage and the invocation succeeds (EventBridge must not retry it); a transient one
 * makes the invocation fail, so EventBridge retries it and finally dead-letters it.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { CloudEvent } from 'cloudevents';
import { Stage } from '../../events/types.ts';
import { type EventBridgeEnvelope, fromEventBridge } from '../../events/eventbridge.ts';
import { loadConfig, requireSimulatorFits } from '../config.ts';
import { resolveSecrets } from '../secrets.ts';
import { InvalidInputError } from '../errors.ts';
import type { Ports } from './ports.ts';
import { waitUntilDue } from './not-before.ts';
import { isScheduledCopy, notBeforeOf, splitByDue } from '../scheduler/scheduler.ts';
import { runStage, type StageDefinition, type StageRun } from './stage.ts';
import { startTimeLimit, type TimeLimit } from './time-limit.ts';
import { EmfWriter } from '../observability/emf.ts';
import { loadMetrics } from '../observability/active-metrics.ts';
import { logger } from '../observability/log.ts';
import { registry } from '../observability/metrics.ts';

/** What the Lambda returns: a summary for logs and tests. */
export interface LambdaResult {
  readonly emitted: string[];
  readonly error?: string;
}

type Publish = (events: readonly CloudEvent<unknown>[]) => Promise<void>;
type Log = (line: Record<string, unknown>) => void;
/** The invocation's context, carrying the container's dependencies (set by withDependencies). */
export type QpipeContext = Context & { qpipe?: LambdaDependencies };
type Request = middy.Request<unknown, unknown, Error, QpipeContext, Record<string, unknown>>;

/** The dependencies of this invocation, as withDependencies put them on its context. */
export function dependenciesOf(context: QpipeContext): LambdaDependencies {
  if (!context.qpipe) throw new Error('withDependencies() must run before the stage');
  return context.qpipe;
}

/**
 * Middleware: the container's dependencies (created at the first invocation, reused by later
 * ones) on each invocation's context, so what an invocation uses travels with its request.
 */
export function withDependencies(load: () => Promise<LambdaDependencies>): middy.MiddlewareObj {
  let ready: Promise<LambdaDependencies> | undefined;
  return {
    before: async (request: Request) => {
      // A failed start (an SSM throttle, an S3 hiccup) fails this invocation only: the next one tries again.
      ready ??= load().catch((error: unknown) => {
        ready = undefined;
        throw error;
      });
      request.context.qpipe = await ready;
    },
  };
}

const emf = new EmfWriter(registry);

/** Middleware: EventBridge envelope in, catalog CloudEvent out (on request.event). */
export function cloudEventsFromEventBridge(): middy.MiddlewareObj {
  return {
    before: (request: Request) => {
      request.event = fromEventBridge(request.event as EventBridgeEnvelope);
    },
  };
}

/**
 * Middleware: the invocation's metrics in CloudWatch's embedded metric format, and the
 * error of a failed invocation in the log (runStage logs each event with its job, stage
 * and trace).
 */
export function observe(options: { stage: string; log?: Log }): middy.MiddlewareObj {
  const log = options.log ?? ((line: Record<string, unknown>) => logger().error(line, String(line['msg'])));
  // Braces matter: a middy middleware that returns a value ends the request with it.
  return {
    after: async () => {
      await emf.flush();
    },
    onError: async (request: Request) => {
      const event = request.event as Partial<CloudEvent<unknown>> & Record<string, unknown>;
      log({ stage: options.stage, eventType: event.type, eventId: event.id, msg: request.error?.message });
      await emf.flush();
    },
  };
}

/**
 * Middleware: publishes what the stage emitted, handing events due later to the scheduler
 * (EventBridge Scheduler); a retryable outcome fails the invocation. Without a scheduler the
 * function holds a delayed event for up to 20 s (not-before.ts). The publisher, scheduler
 * and clock are the invocation's (its context's dependencies).
 */
export function publishEmitted(): middy.MiddlewareObj {
  return {
    after: async (request: Request) => {
      const run = request.response as StageRun;
      const { publish, ports } = dependenciesOf(request.context);
      const { scheduler, now: clock } = ports;
      // A delayed event is scheduled for its due time and published at once too (other
      // stages see it; its own stage ignores the early copy). Without a scheduler, held.
      let emitted = run.emitted;
      if (scheduler) await scheduler.schedule(splitByDue(emitted, clock().getTime()).later);
      else {
        // No scheduler: hold (capped) and deliver as due, so the re-check runs rather than waits.
        await waitUntilDue(emitted);
        emitted = emitted.map((e) => (notBeforeOf(e) === undefined ? e : e.cloneWith({ notbefore: undefined })));
      }
      await publish(emitted);
      if (run.retry !== undefined) {
        throw run.retry;
      }
      // The scheduler's copy was acted on: its backstop record is no longer needed.
      const handled = request.event as CloudEvent<unknown>;
      if (scheduler?.delivered && isScheduledCopy(handled)) await scheduler.delivered(handled);
      const result: LambdaResult = {
        emitted: run.emitted.map((e) => e.type),
        ...(run.error === undefined ? {} : { error: run.error }),
      };
      request.response = result;
    },
  };
}

/** Middleware: an envelope that is not a CloudEvent can never succeed; log it and succeed. */
export function dropMalformed(): middy.MiddlewareObj {
  return {
    onError: (request: Request) => {
      if (request.error instanceof InvalidInputError) {
        const result: LambdaResult = { emitted: [], error: request.error.message };
        // A response set in onError is what middy returns: the invocation succeeds, EventBridge does not retry.
        request.response = result;
      }
    },
  };
}

/** Time kept back from the function's timeout to fail the job, release its budget and publish. */
const WIND_DOWN_MS = 10_000;

/**
 * A signal that aborts the stage's work (simulator threads included) while the function
 * still has time to report it: the job then fails with the reason and its reservation is
 * released, instead of Lambda killing the invocation and retrying the same long work.
 */
function stopBeforeTimeout(context: Context, stage: string): TimeLimit | undefined {
  const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : 0;
  if (remaining <= 0) return undefined;
  return startTimeLimit(
    Math.max(remaining - WIND_DOWN_MS, remaining / 2),
    `stage ${stage} stopped this job: it would not finish within the function's timeout (${Math.round(remaining / 1000)} s left when it started)`,
  );
}

/** How a Lambda gets its ports and its publisher; created once per container. */
export interface LambdaDependencies {
  /** ports.scheduler, when set, takes the events due later (EventBridge Scheduler). */
  readonly ports: Ports;
  readonly publish: Publish;
}

/** A function's dependencies from its environment: configuration, ports, scheduler and publisher. */
export async function dependenciesFromEnvironment(stage: string): Promise<LambdaDependencies> {
  // Secrets named by *_PARAMETER settings are read from SSM once, at the cold start.
  const env = await resolveSecrets(process.env);
  const config = loadConfig(env);
  if (stage === Stage.Execute) requireSimulatorFits(config);
  const [{ createDeployedPorts }, { EventBridgeClient }, { createEventBridgePublisher }, { loadManifests }] =
    await Promise.all([
      import('./deployed-ports.ts'),
      import('@aws-sdk/client-eventbridge'),
      import('./eventbridge-publisher.ts'),
      import('../manifests.ts'),
    ]);
  const resources = await loadManifests(env['QPIPE_RESOURCES']?.split(',').filter(Boolean) ?? []);
  const deployed = await createDeployedPorts(config, resources, { metrics: await loadMetrics() });
  const busName = env['QPIPE_EVENT_BUS'] ?? 'qpipe';
  // Delays go to EventBridge Scheduler when configured (else the function holds them, capped).
  const busArn = env['QPIPE_EVENT_BUS_ARN'];
  const roleArn = env['QPIPE_SCHEDULER_ROLE_ARN'];
  let ports: Ports = deployed;
  if (busArn && roleArn) {
    const [{ SchedulerClient }, { EventBridgeScheduler }, { BackstoppedScheduler }] = await Promise.all([
      import('@aws-sdk/client-scheduler'),
      import('../scheduler/eventbridge-scheduler.ts'),
      import('../scheduler/backstop.ts'),
    ]);
    const groupName = env['QPIPE_SCHEDULE_GROUP'];
    const deadLetterArn = env['QPIPE_SCHEDULER_DEAD_LETTERS_ARN'];
    const primary = new EventBridgeScheduler({
      client: new SchedulerClient({}),
      busArn,
      roleArn,
      store: deployed.store,
      ...(groupName ? { groupName } : {}),
      ...(deadLetterArn ? { deadLetterArn } : {}),
    });
    // A lost schedule is caught by the timer function, which releases the backstop's overdue records.
    ports = { ...deployed, scheduler: new BackstoppedScheduler(primary, deployed.store) };
  }
  return {
    ports,
    publish: createEventBridgePublisher({ client: new EventBridgeClient({}), busName, store: ports.store }),
  };
}

/**
 * The Lambda handler of a stage. Dependencies come from the environment unless given
 * (tests); either way they are created once and reused by later invocations.
 */
export function lambdaHandler(stage: StageDefinition, dependencies?: () => Promise<LambdaDependencies>, log?: Log) {
  const base = async (event: unknown, context: QpipeContext): Promise<StageRun> => {
    const { ports } = dependenciesOf(context);
    const limit = stopBeforeTimeout(context, stage.stage);
    try {
      return await runStage(stage, event as CloudEvent<unknown>, limit ? { ...ports, signal: limit.signal } : ports);
    } finally {
      limit?.clear();
    }
  };
  return middy(base)
    .use(withDependencies(dependencies ?? (() => dependenciesFromEnvironment(stage.stage))))
    .use(dropMalformed())
    .use(observe({ stage: stage.stage, ...(log ? { log } : {}) }))
    .use(publishEmitted())
    .use(cloudEventsFromEventBridge());
}

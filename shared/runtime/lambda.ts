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
import { type EventBridgeEnvelope, fromEventBridge } from '../../events/eventbridge.ts';
import { loadConfig } from '../config.ts';
import { InvalidInputError, QpipeError } from '../errors.ts';
import type { Ports } from './ports.ts';
import { waitUntilDue } from './not-before.ts';
import { runStage, type StageDefinition, type StageRun } from './stage.ts';
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
type Request = middy.Request<unknown, unknown, Error, Context, Record<string, unknown>>;

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

/** Middleware: publishes what the stage emitted; a retryable outcome fails the invocation. */
export function publishEmitted(options: { publish: Publish }): middy.MiddlewareObj {
  return {
    after: async (request: Request) => {
      const run = request.response as StageRun;
      await waitUntilDue(run.emitted);
      await options.publish(run.emitted);
      if (run.retry !== undefined) {
        throw run.retry instanceof Error ? run.retry : new QpipeError(String(run.retry), { retryable: true });
      }
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

/** How a Lambda gets its ports and its publisher; created once per container. */
export interface LambdaDependencies {
  readonly ports: Ports;
  readonly publish: Publish;
}

async function dependenciesFromEnvironment(): Promise<LambdaDependencies> {
  const env = process.env;
  const config = loadConfig(env);
  const [{ createDeployedPorts }, { EventBridgeClient }, { createEventBridgePublisher }, { loadManifests }] =
    await Promise.all([
      import('./deployed-ports.ts'),
      import('@aws-sdk/client-eventbridge'),
      import('./eventbridge-publisher.ts'),
      import('../manifests.ts'),
    ]);
  const resources = await loadManifests(env['QPIPE_RESOURCES']?.split(',').filter(Boolean) ?? []);
  const ports = await createDeployedPorts(config, resources);
  const busName = env['QPIPE_EVENT_BUS'] ?? 'qpipe';
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
  let ready: Promise<LambdaDependencies> | undefined;
  const deps = () => (ready ??= (dependencies ?? dependenciesFromEnvironment)());
  let publish: Publish = async () => undefined;
  const base = async (event: unknown): Promise<StageRun> => {
    const [resolved] = await Promise.all([deps(), loadMetrics()]);
    publish = resolved.publish;
    return runStage(stage, event as CloudEvent<unknown>, resolved.ports);
  };
  return middy(base)
    .use(dropMalformed())
    .use(observe({ stage: stage.stage, ...(log ? { log } : {}) }))
    .use(publishEmitted({ publish: (events) => publish(events) }))
    .use(cloudEventsFromEventBridge());
}

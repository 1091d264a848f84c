/**
 * The Knative runtime: one stage on the shared HTTP host (http-host.ts) under the Knative
 * data-plane contract (https://knative.dev/docs/eventing/event-delivery/ and the Eventing
 * "data plane" spec): a POSTed CloudEvent (binary or structured) is validated against the
 * catalog and handled; the answer is 200 with the reply event in binary mode when the stage
 * emits one, 202 when it emits none (further events go to K_SINK), 400 for an event that
 * can never succeed (not retried), 5xx or 429 for a transient failure (retried by the
 * broker). Events whose `notbefore` is ahead go to the scheduler port, never held here.
 */
import type { CloudEvent } from 'cloudevents';
import { WorkInProgressError } from '../idempotency/claims.ts';
import { logger } from '../observability/log.ts';
import { splitByDue } from '../scheduler/scheduler.ts';
import { cloudEventRoute, createHttpHost, type HostReply, type HttpHost } from './http-host.ts';
import { type EventSender, eventToHttp, postEvents } from './http-binding.ts';
import type { Ports } from './ports.ts';
import { runStage, type StageDefinition, type StageRun } from './stage.ts';
import { startTimeLimit } from './time-limit.ts';

/** Options of a stage server. */
export interface StageServerOptions {
  readonly stage: StageDefinition;
  readonly ports: Ports;
  /** Where events beyond the reply go (Knative SinkBinding sets K_SINK). */
  readonly sink?: string;
  readonly send?: EventSender;
  /** Largest request body accepted, in bytes (413 beyond). */
  readonly maxBodyBytes?: number;
  /** Per-event time limit: the work is stopped and the stage answers with what that means for the job. */
  readonly timeoutMs?: number;
  /** Serve /metrics on this port instead of the request port. */
  readonly metricsPort?: number;
}

/** How long a handler may take to wind down after its time limit before the server answers anyway. */
const WIND_DOWN_MS = 10_000;

/** Runs the stage with a time limit that aborts its work (simulator threads included) when it passes. */
async function runWithinLimit(
  options: StageServerOptions,
  event: CloudEvent<unknown>,
  timeoutMs: number,
): Promise<StageRun | 'timeout'> {
  const limit = startTimeLimit(
    timeoutMs,
    `stage ${options.stage.stage} stopped this job after its time limit of ${timeoutMs / 1000} s`,
  );
  // A handler that ignores the signal is not waited for beyond the wind-down.
  const giveUp = new Promise<'timeout'>((resolve) => {
    limit.signal.addEventListener('abort', () => setTimeout(() => resolve('timeout'), WIND_DOWN_MS).unref());
  });
  try {
    return await Promise.race([runStage(options.stage, event, { ...options.ports, signal: limit.signal }), giveUp]);
  } finally {
    limit.clear();
  }
}

/** Creates the HTTP server for one stage. */
export function createStageServer(options: StageServerOptions): HttpHost {
  const timeoutMs = options.timeoutMs ?? 240_000;
  const send = options.send ?? postEvents;
  const log = logger().child({ stage: options.stage.stage });

  const handle = async (event: CloudEvent<unknown>): Promise<HostReply> => {
    const run = await runWithinLimit(options, event, timeoutMs);
    if (run === 'timeout') {
      log.error(
        { eventType: event.type, eventId: event.id },
        `did not stop within ${WIND_DOWN_MS} ms of its time limit`,
      );
      return { status: 503, body: { error: `stage ${options.stage.stage} did not finish within ${timeoutMs} ms` } };
    }
    if (run.retry !== undefined) {
      if (run.retry instanceof WorkInProgressError) {
        // Another copy is running: ask the broker to come back when its lease would lapse.
        const seconds = Math.max(1, Math.ceil((run.retry.retryAt - Date.now()) / 1000));
        return { status: 503, headers: { 'retry-after': String(seconds) }, body: { error: run.retry.message } };
      }
      return { status: 500, body: { error: 'transient failure; retry' } };
    }
    // A permanently bad event that is about no job: say so, and ask not to retry.
    if (run.error !== undefined && run.emitted.length === 0) return { status: 400, body: { error: run.error } };
    // A delayed event goes to the scheduler for its due time, and is published at once too,
    // so other stages see it; its own stage ignores that early copy (runStage).
    const { later } = splitByDue(run.emitted, options.ports.now().getTime());
    if (later.length > 0) {
      if (!options.ports.scheduler) return { status: 500, body: { error: 'a delayed event needs a scheduler' } };
      await options.ports.scheduler.schedule(later);
    }
    const [reply, ...rest] = run.emitted;
    if (rest.length > 0) {
      if (!options.sink)
        return { status: 500, body: { error: 'the stage emitted several events but K_SINK is not set' } };
      try {
        await send(options.sink, rest);
      } catch (error) {
        log.warn(`publishing to K_SINK failed: ${(error as Error).message}`);
        return { status: 502, body: { error: 'could not publish to the broker; retry' } };
      }
    }
    if (!reply) return { status: 202 };
    const message = eventToHttp(reply);
    return { status: 200, headers: message.headers, body: message.body };
  };

  return createHttpHost({
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
    ...(options.metricsPort === undefined ? {} : { metricsPort: options.metricsPort }),
    post: cloudEventRoute(handle),
  });
}

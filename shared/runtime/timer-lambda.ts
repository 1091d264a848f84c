/**
 * The timer on AWS, invoked by an EventBridge schedule every few minutes: it releases the
 * delayed events whose backstop record fell due (their EventBridge Scheduler delivery was lost),
 * so a held job's re-check or a provider poll is never lost for good (scheduler/backstop.ts).
 * Its own entry point, so the stages' bundles leave the timer out.
 */
import middy from '@middy/core';
import { logger } from '../observability/log.ts';
import { StoreScheduler } from '../scheduler/store-scheduler.ts';
import {
  dependenciesFromEnvironment,
  dependenciesOf,
  type LambdaDependencies,
  type QpipeContext,
  withDependencies,
} from './lambda.ts';
import { tick, type TickReport } from './timer.ts';

export function lambdaTimerHandler(dependencies?: () => Promise<LambdaDependencies>) {
  const base = async (_event: unknown, context: QpipeContext): Promise<TickReport> => {
    const { ports, publish } = dependenciesOf(context);
    const report = await tick({
      scheduler: new StoreScheduler(ports.store),
      store: ports.store,
      publish,
      now: ports.now,
    });
    if (report.released > 0) logger().warn(report, 'released delayed events their schedules did not deliver');
    return report;
  };
  return middy(base).use(withDependencies(dependencies ?? (() => dependenciesFromEnvironment('timer'))));
}

export const handler = lambdaTimerHandler();

/**
 * Job and budget metrics, recorded where the facts are decided: collect-results (the one
 * writer of job status) on every phase change, enforce-budget on every budget status write.
 */
import type { QiskitJobStatus } from '../resources/schema.ts';
import type { Metrics } from './metrics.ts';

/** Records a job's move from `before` to `after`; `reason` is the stage that stopped a failed or rejected job. */
export function recordJobTransition(
  metrics: Metrics | undefined,
  namespace: string,
  before: QiskitJobStatus | undefined,
  after: QiskitJobStatus | undefined,
  facts: { reason?: string; actualCostMicros?: number },
): void {
  if (!metrics || !after?.phase || after.phase === before?.phase) return;
  const backend = after.selectedBackend ?? 'none';
  metrics.jobs.inc({ namespace, phase: after.phase, backend });
  if (after.phase === 'Failed' || after.phase === 'Rejected') {
    metrics.failures.inc({ namespace, backend, reason: facts.reason ?? 'unknown' });
  }
  if (after.phase === 'Succeeded' && facts.actualCostMicros) {
    metrics.cost.inc({ namespace, backend }, facts.actualCostMicros / 1e6);
  }
  if (after.completionTime && after.startTime) {
    const seconds = (Date.parse(after.completionTime) - Date.parse(after.startTime)) / 1000;
    if (seconds >= 0) metrics.duration.observe({ stage: 'pipeline' }, seconds);
  }
}

/** Records a budget's figures after a status write, in micro-dollars. */
export function recordBudget(
  metrics: Metrics | undefined,
  namespace: string,
  budget: string,
  micros: { spent: number; limit: number; reserved: number },
): void {
  if (!metrics) return;
  metrics.budgetSpent.set({ namespace, budget }, micros.spent / 1e6);
  metrics.budgetLimit.set({ namespace, budget }, micros.limit / 1e6);
  metrics.budgetReserved.set({ namespace, budget }, micros.reserved / 1e6);
}

/**
 * qpipe's metrics, defined once (prom-client) and used by every stage: exposed at
 * /metrics by Knative stages and `qpipe serve`, and written as CloudWatch embedded metric
 * format on Lambda (emf.ts). Names follow Prometheus conventions and keep the production
 * guide's names where it has them. Labels are bounded: namespaces, backends, budgets,
 * stages, phases, event types and outcomes; never job names or free text.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The registry every qpipe metric lives in. */
export const registry = new Registry();

const DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600, 3600, 21_600, 86_400];

export const metrics = {
  jobs: new Counter({
    name: 'qiskitjob_total',
    help: 'Jobs that reached each phase, by namespace and backend.',
    labelNames: ['namespace', 'phase', 'backend'] as const,
    registers: [registry],
  }),
  failures: new Counter({
    name: 'qiskitjob_failed_total',
    help: 'Jobs that failed or were rejected, by the stage that stopped them (reason).',
    labelNames: ['namespace', 'backend', 'reason'] as const,
    registers: [registry],
  }),
  duration: new Histogram({
    name: 'qiskitjob_duration_seconds',
    help: 'Time to handle one event per stage, and from validation to a final phase (stage="pipeline").',
    labelNames: ['stage'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  }),
  cost: new Counter({
    name: 'qiskitjob_cost_dollars_total',
    help: 'Actual cost of completed jobs in US dollars.',
    labelNames: ['namespace', 'backend'] as const,
    registers: [registry],
  }),
  budgetSpent: new Gauge({
    name: 'qiskitbudget_spent_dollars',
    help: 'Spent this period in US dollars.',
    labelNames: ['namespace', 'budget'] as const,
    registers: [registry],
  }),
  budgetLimit: new Gauge({
    name: 'qiskitbudget_limit_dollars',
    help: 'The budget limit in US dollars.',
    labelNames: ['namespace', 'budget'] as const,
    registers: [registry],
  }),
  budgetReserved: new Gauge({
    name: 'qiskitbudget_reserved_dollars',
    help: 'Reserved by approved, unfinished jobs in US dollars.',
    labelNames: ['namespace', 'budget'] as const,
    registers: [registry],
  }),
  events: new Counter({
    name: 'qpipe_events_total',
    help: 'Events each stage received, by outcome: handled, duplicate, retried or rejected.',
    labelNames: ['stage', 'type', 'outcome'] as const,
    registers: [registry],
  }),
  deadLetters: new Counter({
    name: 'qpipe_dead_letter_events_total',
    help: 'Events the bus gave up delivering, recorded by the dead-letter sink.',
    labelNames: ['type'] as const,
    registers: [registry],
  }),
  simulator: new Histogram({
    name: 'qpipe_simulator_seconds',
    help: 'Time the built-in simulator took per job.',
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [registry],
  }),
} as const;

/** Every metric name a scrape can show, with the series suffixes histograms add. */
export function exposedMetricNames(): Set<string> {
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    const { name } = metric as unknown as { name: string };
    names.add(name);
    if (metric instanceof Histogram) for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/** The text /metrics answers with, and its content type. */
export async function scrape(): Promise<{ body: string; contentType: string }> {
  return { body: await registry.metrics(), contentType: registry.contentType };
}

/** The metrics a runtime exposes, as stages record them (Ports.metrics). */
export type Metrics = typeof metrics;

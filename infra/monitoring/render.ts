/**
 * The monitoring stack for qpipe (`npm run gen`): a PodMonitor for the stages'
 * /metrics, a PrometheusRule with the production guide's alerts, and a Grafana dashboard,
 * all written against the metric names of shared/observability/metrics.ts (a test checks
 * every name an expression uses exists there).
 */
import { type RunbookPage, runbookUrl } from '../runbooks.ts';
import { stringify } from 'yaml';
import { METRICS_PORT } from '../knative/render.ts';

/** One alert: PromQL, how long it must hold, and what it means. */
interface Alert {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly severity: 'warning' | 'critical';
  readonly summary: string;
  readonly description: string;
  readonly runbook: RunbookPage;
}

export const ALERTS: readonly Alert[] = [
  {
    alert: 'HighJobFailureRate',
    runbook: 'job-failures',
    // A ratio of failed to finished jobs, so a busy namespace is not flagged for its volume.
    expr:
      'sum by (namespace) (increase(qiskitjob_failed_total[30m]))\n' +
      '  / clamp_min(sum by (namespace) (increase(qiskitjob_total{phase=~"Succeeded|Failed|Rejected"}[30m])), 1)\n' +
      '  > 0.1',
    for: '10m',
    severity: 'warning',
    summary: 'More than 10% of jobs in {{ $labels.namespace }} fail',
    description:
      '{{ $value | humanizePercentage }} of the jobs that finished in the last 30 minutes failed or were rejected.',
  },
  {
    alert: 'BudgetExceeded',
    runbook: 'budget-exceeded',
    expr:
      'max by (namespace, budget) (qiskitbudget_spent_dollars)\n' +
      '  >= max by (namespace, budget) (qiskitbudget_limit_dollars)',
    for: '1m',
    severity: 'critical',
    summary: 'Budget {{ $labels.namespace }}/{{ $labels.budget }} is spent',
    description: 'Spending has reached the limit; new jobs are held or rejected until the next period.',
  },
  {
    alert: 'BudgetNearlyExhausted',
    runbook: 'budget-exceeded',
    expr:
      '(max by (namespace, budget) (qiskitbudget_spent_dollars) + max by (namespace, budget) (qiskitbudget_reserved_dollars))\n' +
      '  / max by (namespace, budget) (qiskitbudget_limit_dollars) > 0.9\n' +
      '  < 1',
    for: '5m',
    severity: 'warning',
    summary: 'Budget {{ $labels.namespace }}/{{ $labels.budget }} is over 90% spent or reserved',
    description: 'Spent and reserved together are {{ $value | humanizePercentage }} of the limit.',
  },
  {
    alert: 'QpipeStageDown',
    runbook: 'stage-down',
    // Stages scale to zero when idle (no target, no alert); a running pod that cannot be scraped is down.
    expr: 'up{qpipe_io_stage!=""} == 0',
    for: '5m',
    severity: 'critical',
    summary: 'qpipe stage {{ $labels.qpipe_io_stage }} ({{ $labels.pod }}) is down',
    description: 'A running stage pod has not answered /metrics for 5 minutes.',
  },
  {
    alert: 'QpipeDeadLetterEvents',
    runbook: 'dead-letters',
    expr: 'sum by (type) (increase(qpipe_dead_letter_events_total[15m])) > 0',
    for: '0m',
    severity: 'warning',
    summary: 'Events of type {{ $labels.type }} were dead-lettered',
    description: 'The broker gave up delivering them; they are kept under dead-letters/ in the store for replay.',
  },
  {
    alert: 'QpipeEventsRetriedTooOften',
    runbook: 'retries',
    expr:
      'sum by (stage) (rate(qpipe_events_total{outcome="retried"}[15m]))\n' +
      '  / clamp_min(sum by (stage) (rate(qpipe_events_total[15m])), 1e-9) > 0.2',
    for: '15m',
    severity: 'warning',
    summary: 'Stage {{ $labels.stage }} asks for retries on over 20% of its events',
    description: 'A dependency (S3, a provider, the Kubernetes API) is failing transiently.',
  },
];

/** One dashboard panel: a title, PromQL queries and a unit. */
interface Panel {
  readonly title: string;
  readonly targets: readonly { readonly expr: string; readonly legend: string }[];
  readonly unit: string;
  readonly type?: 'timeseries' | 'bargauge' | 'stat';
}

export const PANELS: readonly Panel[] = [
  {
    title: 'Jobs by phase',
    targets: [{ expr: 'sum by (phase) (increase(qiskitjob_total[$__rate_interval]))', legend: '{{phase}}' }],
    unit: 'short',
  },
  {
    title: 'Failure ratio',
    targets: [
      {
        expr: 'sum by (namespace) (increase(qiskitjob_failed_total[1h])) / clamp_min(sum by (namespace) (increase(qiskitjob_total{phase=~"Succeeded|Failed|Rejected"}[1h])), 1)',
        legend: '{{namespace}}',
      },
    ],
    unit: 'percentunit',
  },
  {
    title: 'Failures by stage',
    targets: [{ expr: 'sum by (reason) (increase(qiskitjob_failed_total[$__rate_interval]))', legend: '{{reason}}' }],
    unit: 'short',
  },
  {
    title: 'Handling time per stage (p50, p95)',
    targets: [
      {
        expr: 'histogram_quantile(0.5, sum by (stage, le) (rate(qiskitjob_duration_seconds_bucket{stage!="pipeline"}[5m])))',
        legend: '{{stage}} p50',
      },
      {
        expr: 'histogram_quantile(0.95, sum by (stage, le) (rate(qiskitjob_duration_seconds_bucket{stage!="pipeline"}[5m])))',
        legend: '{{stage}} p95',
      },
    ],
    unit: 's',
  },
  {
    title: 'Job time end to end (p50, p95)',
    targets: [
      {
        expr: 'histogram_quantile(0.5, sum by (le) (rate(qiskitjob_duration_seconds_bucket{stage="pipeline"}[30m])))',
        legend: 'p50',
      },
      {
        expr: 'histogram_quantile(0.95, sum by (le) (rate(qiskitjob_duration_seconds_bucket{stage="pipeline"}[30m])))',
        legend: 'p95',
      },
    ],
    unit: 's',
  },
  {
    title: 'Spend per namespace and backend',
    targets: [
      {
        expr: 'sum by (namespace, backend) (increase(qiskitjob_cost_dollars_total[$__range]))',
        legend: '{{namespace}} {{backend}}',
      },
    ],
    unit: 'currencyUSD',
    type: 'bargauge',
  },
  {
    title: 'Budget used',
    targets: [
      {
        expr: 'max by (namespace, budget) (qiskitbudget_spent_dollars) / max by (namespace, budget) (qiskitbudget_limit_dollars)',
        legend: '{{namespace}}/{{budget}}',
      },
    ],
    unit: 'percentunit',
    type: 'bargauge',
  },
  {
    title: 'Simulator time per job (p50, p95)',
    targets: [
      { expr: 'histogram_quantile(0.5, sum by (le) (rate(qpipe_simulator_seconds_bucket[5m])))', legend: 'p50' },
      { expr: 'histogram_quantile(0.95, sum by (le) (rate(qpipe_simulator_seconds_bucket[5m])))', legend: 'p95' },
    ],
    unit: 's',
  },
  {
    title: 'Events by outcome',
    targets: [{ expr: 'sum by (stage, outcome) (rate(qpipe_events_total[5m]))', legend: '{{stage}} {{outcome}}' }],
    unit: 'ops',
  },
  {
    title: 'Dead-lettered events',
    targets: [{ expr: 'sum by (type) (increase(qpipe_dead_letter_events_total[$__range]))', legend: '{{type}}' }],
    unit: 'short',
    type: 'stat',
  },
];

const header = '# Generated by `npm run gen` (infra/monitoring/render.ts). Do not edit.\n';

function podMonitor(): string {
  return (
    header +
    stringify({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'qpipe', namespace: 'qpipe', labels: { 'app.kubernetes.io/part-of': 'qpipe' } },
      spec: {
        // Straight to each stage pod's metrics port (QPIPE_METRICS_PORT): a scrape through
        // Knative's Service would pass queue-proxy, count as a request and keep every
        // revision from scaling to zero. A pod scaled away simply is not scraped.
        // Its own namespace (no namespaceSelector), so a kustomize namespace overlay moves both.
        selector: { matchLabels: { 'app.kubernetes.io/part-of': 'qpipe' } },
        // Every target says which stage it is (label qpipe_io_stage), whatever the namespace.
        podTargetLabels: ['qpipe.io/stage'],
        // portNumber needs prometheus-operator 0.80+; older ones take targetPort: 9090.
        // The stages' own namespace label (the job's) wins over the pod's: rules group by tenant.
        podMetricsEndpoints: [{ portNumber: METRICS_PORT, path: '/metrics', interval: '30s', honorLabels: true }],
      },
    })
  );
}

function prometheusRule(): string {
  return (
    header +
    stringify(
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PrometheusRule',
        metadata: { name: 'qpipe', namespace: 'qpipe', labels: { 'app.kubernetes.io/part-of': 'qpipe' } },
        spec: {
          groups: [
            {
              name: 'qpipe',
              rules: ALERTS.map((a) => ({
                alert: a.alert,
                expr: a.expr,
                for: a.for,
                labels: { severity: a.severity },
                annotations: { summary: a.summary, description: a.description, runbook_url: runbookUrl(a.runbook) },
              })),
            },
          ],
        },
      },
      { lineWidth: 0 },
    )
  );
}

function dashboard(): string {
  const panels = PANELS.map((p, i) => ({
    id: i + 1,
    type: p.type ?? 'timeseries',
    title: p.title,
    datasource: { type: 'prometheus', uid: '${datasource}' },
    gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
    fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
    targets: p.targets.map((t, j) => ({ refId: String.fromCharCode(65 + j), expr: t.expr, legendFormat: t.legend })),
  }));
  return `${JSON.stringify(
    {
      uid: 'qpipe-overview',
      title: 'qpipe',
      tags: ['qpipe', 'quantum'],
      timezone: 'utc',
      schemaVersion: 39,
      time: { from: 'now-24h', to: 'now' },
      templating: {
        list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' }],
      },
      panels,
    },
    null,
    2,
  )}\n`;
}

/** The generated files of infra/monitoring. */
export function renderMonitoringFiles(): [string, string][] {
  return [
    ['podmonitor.yaml', podMonitor()],
    ['prometheusrule.yaml', prometheusRule()],
    ['grafana-dashboard.json', dashboard()],
  ];
}

/**
 * infra/monitoring against the metrics module: every metric and label an alert rule or a
 * dashboard panel uses exists, so a renamed metric cannot silently break an alert; the
 * files are what the generator writes; kustomize renders them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ALERTS, PANELS, renderMonitoringFiles } from '../../infra/monitoring/render.ts';
import { exposedMetricNames, registry } from '../../shared/observability/metrics.ts';

const MONITORING = new URL('../../infra/monitoring/', import.meta.url).pathname;

/** Labels each exposed series name carries. */
function labelsByName(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const metric of registry.getMetricsAsArray()) {
    const { name, labelNames } = metric as unknown as { name: string; labelNames: string[] };
    const histogram = (metric as unknown as { bucketValues?: unknown }).bucketValues !== undefined;
    for (const series of histogram ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`] : [name]) {
      out.set(series, new Set([...labelNames, ...(series.endsWith('_bucket') ? ['le'] : [])]));
    }
  }
  return out;
}

/** Problems with one PromQL expression: unknown qpipe metrics, or labels none of its metrics has. */
function promqlProblems(expr: string): string[] {
  const known = labelsByName();
  const exposed = exposedMetricNames();
  // Metric names outside label matchers (a target label such as qpipe_io_stage is not a metric).
  const withoutMatchers = expr.replace(/\{[^}]*\}/g, '{}');
  const used = [...withoutMatchers.matchAll(/\b((?:qiskitjob|qiskitbudget|qpipe)_[a-z_]+)\b/g)].map(
    (m) => m[1] as string,
  );
  const problems = used.filter((name) => !exposed.has(name)).map((name) => `unknown metric ${name}`);
  if (used.length === 0 && !/\bup\b/.test(expr)) problems.push('uses no qpipe metric');
  const labels = new Set<string>();
  for (const m of expr.matchAll(/\bby \(([^)]*)\)/g)) for (const l of (m[1] as string).split(',')) labels.add(l.trim());
  for (const m of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const matcher of (m[1] as string).split(',')) {
      const label = /^\s*([a-z_]+)\s*(=~|!~|!=|=)/.exec(matcher)?.[1];
      if (label) labels.add(label);
    }
  }
  const available = new Set(used.flatMap((name) => [...(known.get(name) ?? [])]));
  if (used.length > 0)
    for (const label of labels)
      if (!available.has(label)) problems.push(`label ${label} is on none of ${used.join(', ')}`);
  return problems;
}

describe('monitoring rules and dashboard', () => {
  it('use only metrics and labels the metrics module defines', () => {
    for (const alert of ALERTS) expect(promqlProblems(alert.expr), alert.alert).toEqual([]);
    for (const panel of PANELS)
      for (const target of panel.targets) expect(promqlProblems(target.expr), panel.title).toEqual([]);
  });

  it('catch a renamed metric or a missing label', () => {
    expect(promqlProblems('sum(rate(qiskitjob_failures_total[5m]))')).toEqual([
      'unknown metric qiskitjob_failures_total',
    ]);
    expect(promqlProblems('sum by (job_name) (qiskitjob_total)')).toEqual([
      'label job_name is on none of qiskitjob_total',
    ]);
  });

  it('alert as the production guide asks: failure ratio, BudgetExceeded from the two gauges, stage down, dead letters, retries', () => {
    const byName = new Map(ALERTS.map((a) => [a.alert, a.expr]));
    expect(byName.get('HighJobFailureRate')).toMatch(/qiskitjob_failed_total[\s\S]*\/[\s\S]*qiskitjob_total/);
    expect(byName.get('BudgetExceeded')).toMatch(
      /qiskitbudget_spent_dollars[\s\S]*>=[\s\S]*qiskitbudget_limit_dollars/,
    );
    expect(byName.get('QpipeStageDown')).toContain('up{');
    expect(byName.get('QpipeDeadLetterEvents')).toContain('qpipe_dead_letter_events_total');
    expect(byName.get('QpipeEventsRetriedTooOften')).toContain('outcome="retried"');
  });

  it("keep the stages' namespace label (the job's tenant): the PodMonitor honours it instead of renaming it exported_namespace", () => {
    const monitor = parse(readFileSync(`${MONITORING}podmonitor.yaml`, 'utf8')) as {
      spec: { podMetricsEndpoints: { honorLabels?: boolean }[] };
    };
    // The series the rules group by tenant carry their own namespace label.
    expect([...(labelsByName().get('qiskitjob_total') ?? [])]).toContain('namespace');
    expect(monitor.spec.podMetricsEndpoints.every((e) => e.honorLabels === true)).toBe(true);
  });

  it('are the files the generator writes', () => {
    for (const [name, text] of renderMonitoringFiles())
      expect(readFileSync(MONITORING + name, 'utf8'), name).toBe(text);
    const rule = parse(readFileSync(`${MONITORING}prometheusrule.yaml`, 'utf8')) as {
      spec: { groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[] };
    };
    expect(rule.spec.groups[0]?.rules.map((r) => r.alert)).toEqual(ALERTS.map((a) => a.alert));
    const dashboard = JSON.parse(readFileSync(`${MONITORING}grafana-dashboard.json`, 'utf8')) as {
      panels: { title: string }[];
    };
    expect(dashboard.panels.map((p) => p.title)).toEqual(
      expect.arrayContaining(['Jobs by phase', 'Failure ratio', 'Budget used']),
    );
  });

  it.skipIf(spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0)(
    'render with kubectl kustomize: PodMonitor, PrometheusRule and the dashboard ConfigMap',
    () => {
      const rendered = execFileSync('kubectl', ['kustomize', MONITORING], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const docs = parseAllDocuments(rendered).map(
        (d) => d.toJS() as { kind: string; metadata: { labels?: Record<string, string> } },
      );
      expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'PodMonitor', 'PrometheusRule']);
      expect(docs.find((d) => d.kind === 'ConfigMap')?.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    },
  );
});

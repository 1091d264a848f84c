/**
 * Operations on a real `qpipe serve` (child process, real HTTP): after jobs run, /metrics
 * shows jobs, failures, costs, budgets, stage events and simulator time in the Prometheus
 * text format; every log line of a job's path through the stages carries its job, stage,
 * event and one trace id.
 */
import { runbookUrl } from '../../infra/runbooks.ts';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HTTP } from 'cloudevents';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { jobManifest } from '../support/manifests.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { type AlertTest, promtoolMissing, series, testShippedRules } from '../support/promtool.ts';

const BIN = new URL('../../bin/qpipe.js', import.meta.url).pathname;

describe('qpipe serve: metrics, logs and traces of jobs (child process, real HTTP)', () => {
  let child: ChildProcess;
  let url: string;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-observe-'));
    const resources = join(store, 'resources.yaml');
    await writeFile(
      resources,
      [
        {
          apiVersion: 'quantum.io/v1',
          kind: 'QiskitBudget',
          metadata: { name: 'team', namespace: 'default' },
          spec: { limit: '$10.00', period: 'monthly' },
        },
        {
          apiVersion: 'quantum.io/v1',
          kind: 'QiskitBackend',
          metadata: { name: 'priced' },
          spec: { provider: 'local_simulator', pricing: { perShot: '$0.001' }, enabled: true },
        },
      ]
        .map((d) => stringify(d))
        .join('---\n'),
    );
    child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--resources', resources], {
      env: { ...process.env, QPIPE_STORE: store, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const complete = out.split('\n');
        out = complete.pop() ?? '';
        for (const line of complete) {
          if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
          const found = /listening on (http:\/\/\S+)/.exec(line)?.[1];
          if (found) resolve(found);
        }
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
  });
  afterAll(() => {
    child.kill('SIGTERM');
  });

  async function post(job: Record<string, unknown>): Promise<void> {
    const message = HTTP.binary(buildEvent(EventType.JobRequested, { job }, { source: '/ci' }));
    const response = await fetch(url, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
    });
    expect(response.status).toBe(202);
  }

  async function finalPhase(name: string): Promise<string> {
    for (let i = 0; i < 300; i++) {
      const response = await fetch(`${url}/jobs/default/${name}`);
      if (response.status === 200) {
        const { status } = (await response.json()) as { status: { phase: string } };
        if (['Succeeded', 'Failed', 'Rejected'].includes(status.phase)) return status.phase;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return 'timeout';
  }

  it('exposes jobs, failures, cost, budget, events and simulator time at /metrics', async () => {
    await post(
      jobManifest(
        'paid',
        { backend: { name: 'priced' }, execution: { shots: 100, seedSimulator: 1 } },
        { uid: 'uid-paid' },
      ),
    );
    await post(jobManifest('broken', { execution: { shots: 0 } }, { uid: 'uid-broken' }));
    expect(await finalPhase('paid')).toBe('Succeeded');
    expect(await finalPhase('broken')).toBe('Rejected');

    // A job is Succeeded once its result is stored; its charge is settled by enforce-budget just
    // after, from the completed event: the budget's gauges are read once they show it.
    const scrape = async () => {
      const response = await fetch(`${url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      return parsePrometheusText(await response.text());
    };
    let samples = await scrape();
    for (
      let i = 0;
      i < 100 && (sampleValue(samples, 'qiskitbudget_spent_dollars', { budget: 'team' }) ?? 0) === 0;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
      samples = await scrape();
    }
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);
    expect(value('qiskitjob_total', { namespace: 'default', phase: 'Succeeded', backend: 'priced' })).toBe(1);
    expect(value('qiskitjob_total', { namespace: 'default', phase: 'Validated' })).toBe(1);
    expect(value('qiskitjob_failed_total', { namespace: 'default', reason: 'validate' })).toBe(1);
    expect(value('qiskitjob_cost_dollars_total', { namespace: 'default', backend: 'priced' })).toBeCloseTo(0.1, 9);
    expect(value('qiskitbudget_spent_dollars', { namespace: 'default', budget: 'team' })).toBeCloseTo(0.1, 9);
    expect(value('qiskitbudget_limit_dollars', { namespace: 'default', budget: 'team' })).toBe(10);
    expect(value('qiskitbudget_reserved_dollars', { namespace: 'default', budget: 'team' })).toBe(0);
    expect(value('qpipe_events_total', { stage: 'validate', type: EventType.JobRequested, outcome: 'handled' })).toBe(
      1,
    );
    expect(value('qpipe_events_total', { stage: 'validate', type: EventType.JobRequested, outcome: 'rejected' })).toBe(
      1,
    );
    // End to end is measured from validation, which the rejected job never passed.
    expect(value('qiskitjob_duration_seconds_count', { stage: 'pipeline' })).toBe(1);
    expect(value('qiskitjob_duration_seconds_count', { stage: 'execute' })).toBe(1);
    expect(value('qpipe_simulator_seconds_count')).toBe(1);
    // Labels stay bounded: no job names anywhere.
    expect(samples.some((s) => Object.values(s.labels).some((v) => v === 'paid' || v === 'broken'))).toBe(false);
  });

  it.skipIf(promtoolMissing() !== undefined)(
    `fires the shipped alert rules on the series it exposes, grouped by the job's namespace (promtool test rules)${promtoolMissing() ? ` (skipped: ${promtoolMissing()})` : ''}`,
    async () => {
      const samples = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
      const find = (name: string, labels: Record<string, string>) => {
        const found = samples.find(
          (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
        );
        if (!found) throw new Error(`no ${name} ${JSON.stringify(labels)} at /metrics`);
        return found;
      };
      // What the PodMonitor's scrape adds; with honorLabels the job's own namespace wins over the pod's.
      const target = {
        qpipe_io_stage: 'validate',
        job: 'qpipe/qpipe',
        namespace: 'qpipe',
        pod: 'qpipe-validate-00001-deployment-7d9f',
        container: 'stage',
      };
      const succeeded = find('qiskitjob_total', { namespace: 'default', phase: 'Succeeded' });
      const rejected = find('qiskitjob_total', { namespace: 'default', phase: 'Rejected' });
      const failed = find('qiskitjob_failed_total', { namespace: 'default', reason: 'validate' });
      const spent = find('qiskitbudget_spent_dollars', { budget: 'team' });
      const limit = find('qiskitbudget_limit_dollars', { budget: 'team' });
      const reserved = find('qiskitbudget_reserved_dollars', { budget: 'team' });
      /** Ten minutes of a $10 budget with `spent` and `reserved`: the alert expected at `minute`, or none. */
      const budgetScenario = (
        spentDollars: string,
        reservedDollars: string,
        minute: number,
        alertname: string,
        expected?: AlertTest['alert_rule_test'][number]['exp_alerts'][number],
      ): AlertTest => ({
        interval: '1m',
        input_series: [
          series(spent, `${spentDollars}x10`, target),
          series(limit, '10x10', target),
          series(reserved, `${reservedDollars}x10`, target),
        ],
        alert_rule_test: [{ eval_time: `${minute}m`, alertname, exp_alerts: expected ? [expected] : [] }],
      });
      const output = await testShippedRules([
        {
          interval: '1m',
          // One job in two fails or is rejected, for an hour.
          input_series: [
            series(succeeded, '0+1x60', target),
            series(rejected, '0+1x60', target),
            series(failed, '0+1x60', target),
          ],
          alert_rule_test: [
            { eval_time: '5m', alertname: 'HighJobFailureRate', exp_alerts: [] },
            {
              eval_time: '45m',
              alertname: 'HighJobFailureRate',
              exp_alerts: [
                {
                  exp_labels: { namespace: 'default', severity: 'warning' },
                  exp_annotations: {
                    summary: 'More than 10% of jobs in default fail',
                    description: '50% of the jobs that finished in the last 30 minutes failed or were rejected.',
                    runbook_url: runbookUrl('job-failures'),
                  },
                },
              ],
            },
          ],
        },
        {
          // A running stage that stops answering its scrape.
          interval: '1m',
          input_series: [series({ name: 'up', labels: {} }, '1 1 0x10', target)],
          alert_rule_test: [
            { eval_time: '4m', alertname: 'QpipeStageDown', exp_alerts: [] },
            {
              eval_time: '8m',
              alertname: 'QpipeStageDown',
              exp_alerts: [
                {
                  exp_labels: { ...target, severity: 'critical' },
                  exp_annotations: {
                    summary: `qpipe stage validate (${target.pod}) is down`,
                    description: 'A running stage pod has not answered /metrics for 5 minutes.',
                    runbook_url: runbookUrl('stage-down'),
                  },
                },
              ],
            },
          ],
        },
        // Spent over the limit: exceeded, not "nearly exhausted".
        budgetScenario('12', '0', 5, 'BudgetExceeded', {
          exp_labels: { namespace: 'default', budget: 'team', severity: 'critical' },
          exp_annotations: {
            summary: 'Budget default/team is spent',
            description: 'Spending has reached the limit; new jobs are held or rejected until the next period.',
            runbook_url: runbookUrl('budget-exceeded'),
          },
        }),
        budgetScenario('12', '0', 10, 'BudgetNearlyExhausted'),
        // Spent and reserved together past 90 %.
        budgetScenario('8', '1.5', 10, 'BudgetExceeded'),
        budgetScenario('8', '1.5', 10, 'BudgetNearlyExhausted', {
          exp_labels: { namespace: 'default', budget: 'team', severity: 'warning' },
          exp_annotations: {
            summary: 'Budget default/team is over 90% spent or reserved',
            description: 'Spent and reserved together are 95% of the limit.',
            runbook_url: runbookUrl('budget-exceeded'),
          },
        }),
      ]);
      expect(output).toMatch(/SUCCESS/);
    },
  );

  it('logs every stage of a job with its job, event and one trace id, and no circuit', async () => {
    const ofJob = lines.filter((l) => l['job'] === 'default/paid');
    const stages = new Set(ofJob.map((l) => l['stage']));
    for (const stage of ['validate', 'select-backend', 'enforce-budget', 'execute', 'collect-results'])
      expect(stages, stage).toContain(stage);
    for (const line of ofJob) {
      expect(line).toMatchObject({ job: 'default/paid', level: 'info' });
      expect(line['eventId'], JSON.stringify(line)).toEqual(expect.any(String));
      expect(line['eventType'], JSON.stringify(line)).toEqual(expect.any(String));
    }
    const traces = new Set(ofJob.map((l) => l['traceId']));
    expect(traces.size).toBe(1);
    expect([...traces][0]).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(lines)).not.toContain('OPENQASM');
  });
});

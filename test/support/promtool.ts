/**
 * Prometheus' own rule tests (`promtool test rules`), with promtool built from the Go module
 * proxy by test/tools/build-servers.sh: the shipped PrometheusRule's groups evaluated against
 * input series, and the alerts that fire compared with what a test expects.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { toolsCache, unavailableUnlessCi } from './kube-apiserver.ts';
import type { Sample } from './prometheus-text.ts';

const PROMTOOL = () => join(toolsCache(), 'promtool-v0.316.0');
const RULES = new URL('../../infra/monitoring/prometheusrule.yaml', import.meta.url).pathname;

/** Why promtool cannot run here, or undefined when it can. */
export function promtoolMissing(): string | undefined {
  return unavailableUnlessCi(
    existsSync(PROMTOOL()) ? undefined : `promtool not built in ${toolsCache()} (run test/tools/build-servers.sh)`,
  );
}

/** One series as promtool's input: a scraped sample's name and labels, and values in its expanding notation. */
export function series(
  sample: Pick<Sample, 'name' | 'labels'>,
  values: string,
  targetLabels: Record<string, string> = {},
) {
  // Target labels first: with honorLabels, the sample's own labels win a clash (namespace).
  const labels = { ...targetLabels, ...sample.labels };
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return { series: `${sample.name}{${text}}`, values };
}

export interface AlertTest {
  readonly interval: string;
  readonly input_series: readonly { series: string; values: string }[];
  readonly alert_rule_test: readonly {
    eval_time: string;
    alertname: string;
    exp_alerts: readonly { exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }[];
  }[];
}

/** Runs the shipped rules against the tests; resolves with promtool's output, rejects with it when a test fails. */
export async function testShippedRules(tests: readonly AlertTest[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qpipe-promtool-'));
  try {
    const rule = parse(await readFile(RULES, 'utf8')) as { spec: { groups: unknown[] } };
    await writeFile(join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }));
    await writeFile(
      join(dir, 'tests.yaml'),
      stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }),
    );
    const { stdout, stderr } = await promisify(execFile)(PROMTOOL(), ['test', 'rules', join(dir, 'tests.yaml')]);
    return stdout + stderr;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${failed.message}\n${failed.stdout ?? ''}${failed.stderr ?? ''}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

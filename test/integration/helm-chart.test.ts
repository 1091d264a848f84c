/**
 * The Helm chart (infra/helm/qpipe) with a real Helm (built from the Go module proxy): generated
 * from infra/knative's source and identical to what kustomize installs with its defaults, every
 * value documented, and each value reaching the objects it names. Installed, upgraded and rolled
 * back on a real kube-apiserver with Knative's CRDs (no Knative controllers or pods: objects and
 * their specs are checked with kubectl).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { breakingCrdChanges, type CustomResourceDefinition } from '../../infra/crds/compatibility.ts';
import {
  CHART_VERSION,
  defaultValues,
  renderChartFiles,
  renderChartMetadata,
  VALUE_DOCS,
  valuePaths,
} from '../../infra/helm/render.ts';
import { helm, helmBinary, helmMissing } from '../support/helm.ts';
import {
  type KubeApiServer,
  kubeApiServerMissing,
  startKubeApiServer,
  toolsCache,
  unavailableUnlessCi,
} from '../support/kube-apiserver.ts';
import { SERVING, EVENTING } from '../support/knative-platform.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CHART = join(ROOT, 'infra/helm/qpipe');
const RELEASES = join(ROOT, 'infra/helm/releases');
const run = promisify(execFile);

/** Orders versions like 0.10.0 after 0.9.1. */
const bySemver = (a: string, b: string) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (x?.[i] !== y?.[i]) return (x?.[i] ?? 0) - (y?.[i] ?? 0);
  return 0;
};
/** The versions in the chart repository (infra/helm/releases/index.yaml), oldest first. */
const releasedVersions = () =>
  (
    parse(readFileSync(join(RELEASES, 'index.yaml'), 'utf8')) as { entries: { qpipe: { version: string }[] } }
  ).entries.qpipe
    .map((entry) => entry.version)
    .sort(bySemver);
/** The newest release before the working chart's version: what an upgrade starts from. */
const previousRelease = () =>
  releasedVersions()
    .filter((v) => bySemver(v, CHART_VERSION) < 0)
    .at(-1);
/** A released chart unpacked into a fresh folder; returns the chart's folder. */
async function unpackRelease(version: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qpipe-release-'));
  await run('tar', ['-xzf', join(RELEASES, `qpipe-${version}.tgz`), '-C', dir]);
  return join(dir, 'qpipe');
}
/** Every file of a chart folder, by its path inside the chart. */
async function chartFiles(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(path.slice(dir.length + 1), readFileSync(path, 'utf8'));
  }
  return files;
}

type Doc = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<
  string,
  unknown
>;
const documents = (text: string) =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
/** A stage's Service without the chart's one documented addition (qpipe.io/config-checksum). */
function withoutConfigChecksum(doc: Doc | undefined): Doc | undefined {
  const annotations = (
    doc?.['spec'] as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined
  )?.template?.metadata?.annotations;
  if (annotations) delete annotations['qpipe.io/config-checksum'];
  return doc;
}
const keyOf = (d: Doc) => `${d.kind}/${d.metadata.namespace ?? ''}/${d.metadata.name}`;

it('keeps the chart identical to what infra/knative renders it from (npm run gen)', () => {
  for (const [name, text] of [...renderChartFiles(), ...renderChartMetadata()]) {
    expect(readFileSync(join(CHART, name), 'utf8'), `${name} is stale: run npm run gen`).toBe(text);
  }
});

describe('released chart versions (infra/helm/releases, npm run chart:release)', () => {
  it('keeps each release as it was: the working chart is newer than the last, or is that release unchanged', async () => {
    const versions = releasedVersions();
    expect(versions.length).toBeGreaterThan(0);
    for (const version of versions) expect(existsSync(join(RELEASES, `qpipe-${version}.tgz`)), version).toBe(true);
    const last = versions.at(-1) ?? '';
    if (bySemver(CHART_VERSION, last) > 0) return;
    expect(CHART_VERSION, 'raise CHART_VERSION in infra/helm/render.ts above the last release').toBe(last);
    const released = await chartFiles(await unpackRelease(last));
    const working = await chartFiles(CHART);
    for (const [path, text] of working) {
      // helm package rewrites Chart.yaml (comments dropped, keys ordered): compared as data.
      const [was, is] =
        path === 'Chart.yaml' ? [parse(released.get(path) ?? ''), parse(text)] : [released.get(path), text];
      expect(was, `${path} changed since ${last} was released: raise CHART_VERSION`).toEqual(is);
    }
  });

  it('changes the CRDs since the last release only as docs/crd-versioning.md allows within v1', async () => {
    const previous = previousRelease() ?? releasedVersions().at(-1) ?? '';
    const crdsOf = async (dir: string) =>
      new Map(
        (await readdir(join(dir, 'crds'))).map((file) => {
          const crd = parse(readFileSync(join(dir, 'crds', file), 'utf8')) as CustomResourceDefinition;
          return [crd.metadata.name, crd] as const;
        }),
      );
    const [before, after] = [await crdsOf(await unpackRelease(previous)), await crdsOf(CHART)];
    for (const [name, crd] of before) {
      const next = after.get(name);
      expect(next, `${name} is no longer in the chart`).toBeDefined();
      expect(breakingCrdChanges(crd, next as CustomResourceDefinition), name).toEqual([]);
    }
  });
});

it('documents every value in the chart README, with its default', () => {
  const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
  for (const path of new Set(valuePaths(defaultValues()))) {
    expect(VALUE_DOCS[path], `${path} has no description`).toBeTruthy();
    expect(readme).toContain(`| \`${path}\` |`);
  }
});

const missing = helmMissing();

describe.skipIf(missing !== undefined)(`helm lint and template${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let home: string;
  const template = async (...args: string[]) =>
    documents(await helm(['template', 'qpipe', CHART, '--namespace', 'qpipe', ...args], { home }));
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'qpipe-helm-'));
  });

  it('lints without errors', async () => {
    expect(await helm(['lint', CHART, '--strict'], { home })).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders, with its defaults, exactly what kubectl kustomize infra/knative does, but the Namespace', async () => {
    const chart = new Map((await template('--include-crds')).map((d) => [keyOf(d), d]));
    const kustomized = documents((await run('kubectl', ['kustomize', join(ROOT, 'infra/knative')])).stdout);
    expect(kustomized.length).toBeGreaterThan(50);
    for (const object of kustomized) {
      if (object.kind === 'Namespace') {
        expect(chart.has(keyOf(object))).toBe(false);
        continue;
      }
      expect(withoutConfigChecksum(chart.get(keyOf(object))), keyOf(object)).toEqual(object);
    }
    expect(chart.size).toBe(kustomized.length - 1);
  });

  it('renders infra/monitoring as kustomize does when monitoring is on, alert templates and legends printed, not read', async () => {
    const chart = new Map((await template('--set', 'monitoring.enabled=true')).map((d) => [keyOf(d), d]));
    const kustomized = documents((await run('kubectl', ['kustomize', join(ROOT, 'infra/monitoring')])).stdout);
    expect(kustomized).toHaveLength(3);
    for (const object of kustomized) expect(chart.get(keyOf(object)), keyOf(object)).toEqual(object);
    expect(JSON.stringify(chart.get('PrometheusRule/qpipe/qpipe'))).toContain('{{ $labels.namespace }}');
    expect((await template()).some((d) => d.kind === 'PodMonitor')).toBe(false);
  });

  it('rolls the stages when a setting changes: their pods carry the ConfigMap checksum', async () => {
    const checksum = async (...args: string[]) =>
      (
        (await template(...args)).find(
          (d) => d.metadata.name === 'qpipe-validate' && d.kind === 'Service',
        ) as unknown as {
          spec: { template: { metadata: { annotations: Record<string, string> } } };
        }
      ).spec.template.metadata.annotations['qpipe.io/config-checksum'];
    const before = await checksum();
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    expect(await checksum()).toBe(before);
    expect(await checksum('--set', 'config.LOG_LEVEL=debug')).not.toBe(before);
  });

  it('puts everything in the release namespace, and templates the namespace with Pod Security labels when asked', async () => {
    const objects = await helm(['template', 'q', CHART, '--namespace', 'team-q', '--set', 'namespace.create=true'], {
      home,
    });
    expect(objects).not.toMatch(/namespace: qpipe\b/);
    const namespace = documents(objects).find((d) => d.kind === 'Namespace');
    expect(namespace?.metadata).toMatchObject({
      name: 'team-q',
      labels: {
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
      },
    });
    const bindings = documents(objects).filter((d) => d.kind === 'ClusterRoleBinding');
    for (const binding of bindings) {
      for (const subject of binding['subjects'] as { namespace: string }[]) expect(subject.namespace).toBe('team-q');
    }
  });

  it('sets the image, pull secrets, per-stage sizing and scale, scheduling, storage, credentials and toggles from values', async () => {
    const objects = await template(
      '--set',
      'image.registry=registry.example.com',
      '--set',
      'image.tag=1.2.3',
      '--set',
      'image.pullPolicy=Always',
      '--set',
      'imagePullSecrets[0].name=regcred',
      '--set',
      'stages.execute.memory=8Gi',
      '--set',
      'stages.execute.maxScale=40',
      '--set',
      'stages.execute.nodeSelector.pool=quantum',
      '--set',
      'stages.execute.tolerations[0].key=quantum',
      '--set',
      'stages.execute.tolerations[0].effect=NoSchedule',
      '--set',
      'scheduling.topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone',
      '--set',
      'scheduling.topologySpreadConstraints[0].maxSkew=1',
      '--set',
      'scheduling.topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway',
      '--set',
      'storage.endpoint=',
      '--set',
      'storage.forcePathStyle=false',
      '--set',
      'storage.bucket=team-results',
      '--set',
      'storage.region=eu-west-1',
      '--set',
      'config.LOG_LEVEL=debug',
      '--set',
      'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/qpipe',
      '--set',
      'credentials.existingSecret=team-credentials',
      '--set',
      'credentials.vault.enabled=true',
      '--set',
      'credentials.vault.secretPath=secret/data/qpipe',
      '--set',
      'networkPolicy.enabled=false',
    );
    type Pod = {
      spec: { template: { metadata: { annotations: Record<string, string> }; spec: Record<string, unknown> } };
    };
    const service = (stage: string) =>
      objects.find((d) => d.kind === 'Service' && d.metadata.name === `qpipe-${stage}`) as unknown as Pod;
    const execute = service('execute').spec.template;
    const container = (execute.spec['containers'] as Record<string, unknown>[])[0]!;
    expect(container).toMatchObject({
      image: 'registry.example.com/qpipe/qpipe:1.2.3',
      imagePullPolicy: 'Always',
      resources: { requests: { memory: '8Gi' }, limits: { memory: '8Gi' } },
    });
    expect(container['envFrom']).toContainEqual({ secretRef: { name: 'team-credentials', optional: true } });
    expect(execute.metadata.annotations['autoscaling.knative.dev/max-scale']).toBe('40');
    expect(execute.spec).toMatchObject({
      imagePullSecrets: [{ name: 'regcred' }],
      nodeSelector: { pool: 'quantum' },
      tolerations: [{ key: 'quantum', effect: 'NoSchedule' }],
      topologySpreadConstraints: [{ topologyKey: 'topology.kubernetes.io/zone', maxSkew: 1 }],
    });
    expect(execute.metadata.annotations).toMatchObject({
      'vault.hashicorp.com/agent-inject': 'true',
      'vault.hashicorp.com/agent-inject-secret-credentials': 'secret/data/qpipe',
    });
    // Only the stages that hold credentials get Vault's agent; the others keep the global scheduling only.
    const validate = service('validate').spec.template;
    expect(validate.metadata.annotations['vault.hashicorp.com/agent-inject']).toBeUndefined();
    expect(validate.spec['nodeSelector']).toBeUndefined();
    expect(validate.spec['topologySpreadConstraints']).toBeDefined();
    const config = objects.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'qpipe-config');
    expect(config?.['data']).toEqual(
      expect.objectContaining({ QPIPE_S3_BUCKET: 'team-results', AWS_REGION: 'eu-west-1', LOG_LEVEL: 'debug' }),
    );
    expect(config?.['data']).not.toHaveProperty('AWS_ENDPOINT_URL_S3');
    expect(config?.['data']).not.toHaveProperty('QPIPE_S3_FORCE_PATH_STYLE');
    for (const account of objects.filter((d) => d.kind === 'ServiceAccount')) {
      expect(account.metadata).toMatchObject({
        annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/qpipe' },
      });
    }
    expect(objects.some((d) => d.kind === 'NetworkPolicy')).toBe(false);
  });

  it('backs up on a schedule when asked: qpipe backup to the bucket as the resource reader, keeping the newest N', async () => {
    expect((await template()).some((d) => d.kind === 'CronJob')).toBe(false);
    const [cronJob] = (await template('--set', 'backup.enabled=true', '--set', 'backup.keep=7')).filter(
      (d) => d.kind === 'CronJob',
    );
    expect(cronJob).toMatchObject({
      metadata: { name: 'qpipe-backup', namespace: 'qpipe' },
      spec: {
        schedule: '15 2 * * *',
        concurrencyPolicy: 'Forbid',
        jobTemplate: {
          spec: {
            template: {
              spec: {
                serviceAccountName: 'qpipe-reader',
                containers: [
                  {
                    command: ['node', 'bin/qpipe.js', 'backup', '--to', 's3://qpipe/backups', '--keep', '7'],
                    env: expect.arrayContaining([{ name: 'QPIPE_CLUSTER', value: 'kubernetes' }]),
                    envFrom: expect.arrayContaining([{ configMapRef: { name: 'qpipe-config' } }]),
                    securityContext: expect.objectContaining({ readOnlyRootFilesystem: true, runAsNonRoot: true }),
                  },
                ],
              },
            },
          },
        },
      },
    });
  });

  it('renders the production values example, every value in it one the chart documents', async () => {
    const file = join(ROOT, 'infra/helm/values-production.yaml');
    const example = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const documented = new Set(valuePaths(defaultValues()));
    // A path inside a free-form value (annotations, a nodeSelector) belongs to that value.
    const documentedAs = (path: string) => [...documented].find((d) => path === d || path.startsWith(`${d}.`));
    for (const path of new Set(valuePaths(example))) expect(documentedAs(path), path).toBeDefined();
    const objects = await template('-f', file);
    const execute = objects.find((d) => d.kind === 'Service' && d.metadata.name === 'qpipe-execute') as unknown as {
      spec: { template: { spec: { nodeSelector: unknown; containers: { resources: unknown }[] } } };
    };
    expect(execute.spec.template.spec.nodeSelector).toEqual({ workload: 'quantum' });
    expect(execute.spec.template.spec.containers[0]?.resources).toEqual({
      requests: { memory: '8Gi', cpu: '4' },
      limits: { memory: '8Gi' },
    });
    expect(objects.map((d) => d.kind)).toEqual(expect.arrayContaining(['ExternalSecret', 'CronJob', 'PrometheusRule']));
  });

  it('makes the credentials Secret with the External Secrets Operator when asked', async () => {
    const objects = await template(
      '--set',
      'credentials.externalSecret.enabled=true',
      '--set',
      'credentials.externalSecret.secretStoreRef.name=vault-backend',
      '--set',
      'credentials.externalSecret.data[0].secretKey=IBM_QUANTUM_API_KEY',
      '--set',
      'credentials.externalSecret.data[0].remoteRef.key=qpipe/ibm',
    );
    const external = objects.find((d) => d.kind === 'ExternalSecret');
    expect(external).toMatchObject({
      metadata: { name: 'qpipe-credentials', namespace: 'qpipe' },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault-backend' },
        target: { name: 'qpipe-credentials' },
        data: [{ secretKey: 'IBM_QUANTUM_API_KEY', remoteRef: { key: 'qpipe/ibm' } }],
      },
    });
  });
});

/** The checkers test/tools/install-python-tools.sh installs. */
const CHECKOV = join(toolsCache(), 'python-tools-1', 'bin', 'checkov');
const scannerMissing =
  missing ??
  unavailableUnlessCi(
    existsSync(CHECKOV) ? undefined : `checkov not installed (run test/tools/install-python-tools.sh)`,
  );

describe.skipIf(scannerMissing !== undefined)(
  `checkov on the manifests and the chart (Kubernetes and Helm frameworks, every skipped check explained in .checkov-kubernetes.yaml)${scannerMissing ? ` (skipped: ${scannerMissing})` : ''}`,
  () => {
    it('finds nothing unexplained in infra/knative, the chart with production values, or the chart as checkov renders it', async () => {
      const home = await mkdtemp(join(tmpdir(), 'qpipe-helm-'));
      const kustomized = join(home, 'knative.yaml');
      await writeFile(kustomized, (await run('kubectl', ['kustomize', join(ROOT, 'infra/knative')])).stdout);
      const production = join(home, 'chart.yaml');
      await writeFile(
        production,
        await helm(
          ['template', 'qpipe', CHART, '--namespace', 'qpipe', '-f', join(ROOT, 'infra/helm/values-production.yaml')],
          { home },
        ),
      );
      // checkov's Helm framework runs `helm` from PATH.
      const bin = join(home, 'bin');
      await mkdir(bin);
      await symlink(helmBinary(), join(bin, 'helm'));
      const checkov = (...args: string[]) =>
        spawnSync(
          CHECKOV,
          [...args, '--config-file', '.checkov-kubernetes.yaml', '--skip-download', '--compact', '--quiet'],
          {
            cwd: ROOT,
            encoding: 'utf8',
            timeout: 240_000,
            env: { ...process.env, LOG_LEVEL: 'WARNING', PATH: `${bin}:${process.env['PATH'] ?? ''}` },
          },
        );
      const manifests = checkov('-f', kustomized, '-f', production, '--framework', 'kubernetes');
      expect(manifests.status, manifests.stdout).toBe(0);
      expect(manifests.stdout).toMatch(/Passed checks: \d+, Failed checks: 0/);
      const chart = checkov('-d', CHART, '--framework', 'helm');
      expect(chart.status, chart.stdout).toBe(0);
      expect(chart.stdout).toMatch(/Passed checks: \d+, Failed checks: 0/);
    }, 300_000);
  },
);

const apiMissing = missing ?? kubeApiServerMissing();

describe.skipIf(apiMissing !== undefined)(
  `helm install, upgrade and rollback on a real kube-apiserver with Knative's CRDs${apiMissing ? ` (skipped: ${apiMissing})` : ''}`,
  () => {
    let api: KubeApiServer;
    let kubeconfig: string;
    let home: string;
    const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', kubeconfig, ...args])).stdout;

    beforeAll(async () => {
      api = await startKubeApiServer();
      kubeconfig = await api.kubeconfig();
      home = await mkdtemp(join(tmpdir(), 'qpipe-helm-'));
      // Knative's CRDs only: Services, Brokers, Triggers and sources are stored as written.
      const serving = join(toolsCache(), SERVING, 'config/core/300-resources');
      const eventing = join(toolsCache(), EVENTING, 'config');
      const crds = [
        ...(await readdir(serving)).filter((f) => f.endsWith('.yaml')).map((f) => join(serving, f)),
        ...(await readdir(eventing)).filter((f) => /^300-.*\.yaml$/.test(f)).map((f) => join(eventing, f)),
      ];
      await kubectl('apply', '--server-side', ...crds.flatMap((f) => ['-f', f]));
      await kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s');
    }, 120_000);

    afterAll(async () => {
      await api.stop();
    });

    const maxScaleOfExecute = async () =>
      (
        await kubectl(
          'get',
          'ksvc',
          'qpipe-execute',
          '-n',
          'qpipe',
          '-o',
          "jsonpath={.spec.template.metadata.annotations['autoscaling\\.knative\\.dev/max-scale']}",
        )
      ).trim();

    it("upgrades from the last released chart as docs/crd-versioning.md says, keeping jobs, budgets and the ledgers' bucket", async () => {
      const previous = previousRelease();
      expect(previous, 'no release before the working chart in infra/helm/releases').toBeDefined();
      const options = { home, kubeconfig };
      await helm(
        [
          ...[
            'install',
            'qpipe',
            join(RELEASES, `qpipe-${previous}.tgz`),
            '--namespace',
            'qpipe',
            '--create-namespace',
          ],
          ...['--wait=false', '--set', 'storage.bucket=team-results', '--set', 'config.LOG_LEVEL=debug'],
        ],
        options,
      );
      await kubectl('apply', '-f', join(ROOT, 'examples/bell.yaml'), '-f', join(ROOT, 'examples/budget.yaml'));
      // Status as the pipeline would have written it: an upgrade must not lose it.
      await kubectl(
        ...['patch', 'qiskitbudget', 'monthly', '-n', 'default', '--subresource=status', '--type=merge'],
        '-p',
        JSON.stringify({ status: { phase: 'Active', spent: '$12.50', reserved: '$0.00', remaining: '$9,987.50' } }),
      );
      await kubectl(
        ...['patch', 'qiskitjob', 'bell', '-n', 'default', '--subresource=status', '--type=merge'],
        '-p',
        JSON.stringify({ status: { phase: 'Succeeded', observedGeneration: 1 } }),
      );
      const snapshot = async () => ({
        job: JSON.parse(await kubectl('get', 'qiskitjob', 'bell', '-n', 'default', '-o', 'json')) as {
          metadata: { uid: string };
          status: unknown;
        },
        budget: JSON.parse(await kubectl('get', 'qiskitbudget', 'monthly', '-n', 'default', '-o', 'json')) as {
          metadata: { uid: string };
          status: unknown;
        },
        config: (
          JSON.parse(await kubectl('get', 'configmap', 'qpipe-config', '-n', 'qpipe', '-o', 'json')) as {
            data: Record<string, string>;
          }
        ).data,
      });
      const before = await snapshot();
      expect(before.config['QPIPE_S3_BUCKET']).toBe('team-results');

      // The upgrade as documented: the CRDs first (Helm never upgrades crds/), then the chart.
      await kubectl('apply', '--server-side', '--force-conflicts', '-f', join(CHART, 'crds'));
      await helm(['upgrade', 'qpipe', CHART, '--namespace', 'qpipe', '--reuse-values'], options);
      const after = await snapshot();
      expect(after.job.metadata.uid).toBe(before.job.metadata.uid);
      expect(after.job.status).toEqual(before.job.status);
      expect(after.budget.metadata.uid).toBe(before.budget.metadata.uid);
      expect(after.budget.status).toEqual(before.budget.status);
      // The ledgers live in the bucket, which the upgrade keeps pointing at, with every other setting.
      for (const [key, value] of Object.entries(before.config)) expect(after.config[key], key).toBe(value);
      const history = JSON.parse(await helm(['history', 'qpipe', '--namespace', 'qpipe', '-o', 'json'], options)) as {
        chart: string;
      }[];
      expect(history.map((h) => h.chart)).toEqual([`qpipe-${previous}`, `qpipe-${CHART_VERSION}`]);
      // Uninstalling keeps the CRDs and so every job and budget; the next test installs afresh.
      await helm(['uninstall', 'qpipe', '--namespace', 'qpipe'], options);
      expect((await kubectl('get', 'qiskitjob', 'bell', '-n', 'default', '-o', 'name')).trim()).toBe(
        'qiskitjob.quantum.io/bell',
      );
    }, 180_000);

    it('installs the chart with its CRDs, upgrades a value, and rolls back to the first release', async () => {
      await helm(['install', 'qpipe', CHART, '--namespace', 'qpipe', '--create-namespace', '--wait=false'], {
        home,
        kubeconfig,
      });
      expect((await kubectl('get', 'crd', 'qiskitjobs.quantum.io', '-o', 'name')).trim()).toBe(
        'customresourcedefinition.apiextensions.k8s.io/qiskitjobs.quantum.io',
      );
      const services = (await kubectl('get', 'ksvc', '-n', 'qpipe', '-o', 'name')).trim().split('\n');
      expect(services).toHaveLength(8);
      expect(
        (await kubectl('get', 'triggers.eventing.knative.dev', '-n', 'qpipe', '-o', 'name')).split('\n').length,
      ).toBeGreaterThan(10);
      expect(await maxScaleOfExecute()).toBe('10');

      await helm(
        ['upgrade', 'qpipe', CHART, '--namespace', 'qpipe', '--reuse-values', '--set', 'stages.execute.maxScale=30'],
        {
          home,
          kubeconfig,
        },
      );
      expect(await maxScaleOfExecute()).toBe('30');
      expect(await helm(['history', 'qpipe', '--namespace', 'qpipe', '-o', 'json'], { home, kubeconfig })).toMatch(
        /"revision":2/,
      );

      await helm(['rollback', 'qpipe', '1', '--namespace', 'qpipe'], { home, kubeconfig });
      expect(await maxScaleOfExecute()).toBe('10');
      // A job applied meanwhile survives every step: CRDs are never removed by Helm.
      await kubectl('apply', '-n', 'default', '-f', join(ROOT, 'examples/bell.yaml'));
      await helm(['upgrade', 'qpipe', CHART, '--namespace', 'qpipe'], { home, kubeconfig });
      expect((await kubectl('get', 'qiskitjob', 'bell', '-n', 'default', '-o', 'name')).trim()).toBe(
        'qiskitjob.quantum.io/bell',
      );
    }, 180_000);

    it('runs a canary as the chart README says: named revisions, 10% to the new one, then promoted, or rolled back', async () => {
      const upgrade = (...set: string[]) =>
        helm(
          ['upgrade', 'qpipe', CHART, '--namespace', 'qpipe', '--reuse-values', ...set.flatMap((s) => ['--set', s])],
          {
            home,
            kubeconfig,
          },
        );
      const execute = async () =>
        JSON.parse(await kubectl('get', 'ksvc', 'qpipe-execute', '-n', 'qpipe', '-o', 'json')) as {
          spec: { template: { metadata: { name?: string } }; traffic?: Record<string, unknown>[] };
        };
      await upgrade('revision.name=v1');
      expect((await execute()).spec.template.metadata.name).toBe('qpipe-execute-v1');
      // The new release as a canary: 10% of each stage's traffic.
      await upgrade('revision.name=v2', 'canary.enabled=true', 'canary.stableRevision=v1', 'canary.percent=10');
      const canary = await execute();
      expect(canary.spec.template.metadata.name).toBe('qpipe-execute-v2');
      expect(canary.spec.traffic).toEqual([
        { revisionName: 'qpipe-execute-v1', percent: 90, tag: 'stable' },
        { latestRevision: true, percent: 10, tag: 'canary' },
      ]);
      const validate = JSON.parse(await kubectl('get', 'ksvc', 'qpipe-validate', '-n', 'qpipe', '-o', 'json')) as {
        spec: { traffic?: unknown[] };
      };
      expect(validate.spec.traffic).toHaveLength(2);
      const history = JSON.parse(
        await helm(['history', 'qpipe', '--namespace', 'qpipe', '-o', 'json'], { home, kubeconfig }),
      ) as { revision: number }[];
      const beforeCanary = history.at(-2)?.revision;
      // Promoted: all traffic to the latest revision again.
      await upgrade('canary.enabled=false');
      expect((await execute()).spec.traffic).toBeUndefined();
      expect((await execute()).spec.template.metadata.name).toBe('qpipe-execute-v2');
      // Or rolled back: the release before the canary, v1 with all the traffic.
      await helm(['rollback', 'qpipe', String(beforeCanary), '--namespace', 'qpipe'], { home, kubeconfig });
      const rolledBack = await execute();
      expect(rolledBack.spec.template.metadata.name).toBe('qpipe-execute-v1');
      expect(rolledBack.spec.traffic).toBeUndefined();
      // A canary that names no stable revision is refused before anything changes.
      await expect(upgrade('canary.enabled=true', 'canary.stableRevision=')).rejects.toThrow(/canary.stableRevision/);
    }, 180_000);
  },
);

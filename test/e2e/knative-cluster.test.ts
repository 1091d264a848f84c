/**
 * The README's Knative commands on Knative's real Eventing data plane (ApiServerSource and
 * PingSource adapters, MT-channel broker, in-memory channel, the rendered Triggers) with
 * Serving's webhook, a real kube-apiserver (etcd, RBAC) and MinIO. Serving's controller and
 * data plane stand in (test/support/knative-cluster.ts says how).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kubeApiServerMissing,
  networkNamespacesMissing,
  prometheusOperatorCrds,
  unavailableUnlessCi,
} from '../support/kube-apiserver.ts';
import { type KnativeCluster, startKnativeCluster } from '../support/knative-cluster.ts';
import { eventually, knativeMissing, type SentRequest } from '../support/knative-platform.ts';
import { minioMissing } from '../support/minio.ts';
import { helm, helmMissing } from '../support/helm.ts';
import { SCHEDULING_FEATURE_FLAGS } from '../../infra/helm/render.ts';

const missing =
  kubeApiServerMissing() ?? minioMissing() ?? unavailableUnlessCi(knativeMissing()) ?? networkNamespacesMissing();
const EXAMPLE = new URL('../../examples/bell.yaml', import.meta.url).pathname;
const BIN = new URL('../../bin/qpipe.js', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

/** A 20-qubit circuit that keeps the simulator busy for a few seconds. */
function slowCircuit(layers: number): string {
  const lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', 'qreg q[20];', 'creg c[20];'];
  for (let layer = 0; layer < layers; layer++) {
    for (let i = 0; i < 20; i++) lines.push(`ry(${(0.1 + layer * 0.013 + i * 0.007).toFixed(4)}) q[${i}];`);
    for (let i = layer % 2; i + 1 < 20; i += 2) lines.push(`cx q[${i}], q[${i + 1}];`);
  }
  lines.push('measure q -> c;');
  return lines.join('\n');
}

/** A QiskitJob manifest (JSON is YAML) with an inline circuit. */
function jobFile(name: string, code: string): string {
  return JSON.stringify({
    apiVersion: 'quantum.io/v1',
    kind: 'QiskitJob',
    metadata: { name, namespace: 'default' },
    spec: { circuit: { source: 'inline', code }, backend: { type: 'local_simulator' }, execution: { shots: 64 } },
  });
}

async function apply(cluster: KnativeCluster, manifest: string): Promise<void> {
  const path = join(await mkdtemp(join(tmpdir(), 'qpipe-job-')), 'job.json');
  await writeFile(path, manifest);
  await cluster.kubectl('apply', '-f', path);
}

/** Simulations execute's process has run, from its /metrics. */
async function simulations(cluster: KnativeCluster): Promise<number> {
  const text = await (await fetch(`${cluster.pods.get('qpipe-execute')?.metricsUrl}/metrics`)).text();
  return Number(/^qpipe_simulator_seconds_count(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
}

async function keys(cluster: KnativeCluster, prefix: string): Promise<string[]> {
  const listed = await cluster.s3.client.send(new ListObjectsV2Command({ Bucket: cluster.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key ?? '');
}

/** Waits until the broker's delivery of `type` about `subject` has reached `stage` (it may still run). */
function arrival(cluster: KnativeCluster, stage: string, type: string, subject: string): Promise<SentRequest> {
  return eventually(`${type} for ${subject} at ${stage}`, 60_000, async () =>
    cluster
      .arrivals()
      .find((r) => r.stage === stage && r.headers['ce-type'] === type && r.headers['ce-subject'] === subject),
  );
}

const jobSubject = (name: string) => `/apis/quantum.io/v1/namespaces/default/qiskitjobs/${name}`;

describe.skipIf(missing !== undefined)(
  `Knative deployment on Knative's real Eventing data plane, a real kube-apiserver and MinIO${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let cluster: KnativeCluster;
    const executeAnswers = (type: string, subject: string) =>
      cluster.deliveries().filter((d) => d.stage === 'execute' && d.type === type && d.subject === subject);
    const deadLetters = () => cluster.deliveries().filter((d) => d.stage === 'dead-letters');

    beforeAll(async () => {
      // Set through ConfigMap qpipe-config, as README says: short leases, so a killed holder's
      // claim lapses within the broker's retries; resync after 3 s of standstill.
      cluster = await startKnativeCluster({
        config: { QPIPE_CLAIM_LEASE_SECONDS: '3', QPIPE_RESYNC_AFTER_SECONDS: '3' },
      });
      await cluster.enableNamespace('default');
    }, 300_000);

    afterAll(async () => {
      // Undefined when the start failed.
      await (cluster as KnativeCluster | undefined)?.stop();
    }, 60_000);

    it('runs the README flow: label the namespace, kubectl apply, kubectl wait for Completed, once', async () => {
      await cluster.kubectl('apply', '-f', EXAMPLE);
      await cluster.kubectl('wait', '--for=condition=Completed', 'qiskitjob/bell', '--timeout=60s');
      const job = JSON.parse(await cluster.kubectl('get', 'qiskitjob', 'bell', '-o', 'json')) as {
        metadata: { uid: string };
        status: { phase: string; observedGeneration: number };
      };
      expect(job.status.phase).toBe('Succeeded');
      expect(job.status.observedGeneration).toBe(1);
      // One run: one raw result and one result document in the shared bucket.
      expect(await keys(cluster, `runs/default/bell/${job.metadata.uid}-1/`)).toHaveLength(2);
      expect(executeAnswers('io.quantum.job.approved', 'default/bell').filter((d) => d.status < 300)).toHaveLength(1);
      // The real adapter sent an add, then an update per status write; none started the pipeline again.
      const sourceEvents = cluster.sentToBroker().filter((r) => r.subject === jobSubject('bell'));
      expect(sourceEvents.filter((r) => r.type === 'dev.knative.apiserver.resource.add')).toHaveLength(1);
      expect(sourceEvents.filter((r) => r.type === 'dev.knative.apiserver.resource.update').length).toBeGreaterThan(3);
      const validated = cluster.deliveries().filter((d) => d.type === 'io.quantum.job.validated' && d.status < 300);
      expect(validated.map((d) => d.stage).sort()).toEqual(['collect-results', 'select-backend']);
      expect(deadLetters()).toEqual([]);
      expect(await cluster.kubectl('get', 'events', '--field-selector', 'involvedObject.name=bell')).toMatch(
        /Succeeded/,
      );
    });

    it('accepts every rendered manifest on a server-side dry run (Knative, monitoring, the bridge), restricted Pod Security included', async () => {
      const admin = await cluster.api.kubeconfig();
      const dryRun = async (...args: string[]) => {
        const { stdout, stderr } = await run('kubectl', ['--kubeconfig', admin, 'apply', '--dry-run=server', ...args]);
        return { stdout, stderr };
      };
      // A second installation, in a namespace of its own through a kustomize overlay: Serving
      // dry-runs a Pod from each KService, so the namespace (restricted) and ServiceAccounts exist first.
      const overlay = await mkdtemp(join(ROOT, 'infra/.overlay-'));
      try {
        await writeFile(
          join(overlay, 'kustomization.yaml'),
          'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: qpipe-staging\nresources:\n  - ../knative\n',
        );
        const rendered = (await run('kubectl', ['kustomize', overlay])).stdout;
        const prerequisites = rendered
          .split(/^---$/m)
          .filter((d) => /^kind: (Namespace|ServiceAccount)$/m.test(d))
          .join('---\n');
        await cluster.platform.kubectlInput(prerequisites, 'apply', '-f', '-');
        const knative = await dryRun('-k', overlay);
        expect(knative.stdout).toMatch(/service\.serving\.knative\.dev\/qpipe-execute created \(server dry run\)/);
        expect(knative.stdout).toMatch(/broker\.eventing\.knative\.dev\/qpipe created \(server dry run\)/);
        expect(knative.stderr).not.toMatch(/Warning|PodSecurity|Error/i);
      } finally {
        await rm(overlay, { recursive: true, force: true });
      }
      // The Prometheus Operator's CRDs, then the monitoring kustomization.
      await run('kubectl', ['--kubeconfig', admin, 'apply', '--server-side', '-f', prometheusOperatorCrds()]);
      await cluster.kubectl(
        'wait',
        '--for=condition=Established',
        'crd/podmonitors.monitoring.coreos.com',
        '--timeout=30s',
      );
      const monitoring = await dryRun('-k', join(ROOT, 'infra/monitoring'));
      expect(monitoring.stdout).toMatch(/podmonitor\.monitoring\.coreos\.com\/qpipe created \(server dry run\)/);
      expect(monitoring.stderr).not.toMatch(/Warning|Error/i);
      // The EKS bridge's Deployment, in qpipe's restricted namespace.
      const bridge = await dryRun('-k', join(ROOT, 'infra/aws/bridge'));
      expect(bridge.stdout).toMatch(/deployment\.apps\/qpipe-bridge created \(server dry run\)/);
      expect(bridge.stderr).not.toMatch(/Warning|PodSecurity|Error/i);
    }, 120_000);

    it.skipIf(helmMissing() !== undefined)(
      "accepts the Helm chart's whole output, backups and credentials on, through Knative's real webhooks (server-side dry run)",
      async () => {
        const home = await mkdtemp(join(tmpdir(), 'qpipe-helm-'));
        try {
          const rendered = await helm(
            [
              ...['template', 'qpipe', join(ROOT, 'infra/helm/qpipe'), '-n', 'qpipe-chart'],
              ...['--set', 'namespace.create=true', '--set', 'backup.enabled=true'],
              ...['--set', 'credentials.existingSecret=qpipe-credentials', '--set', 'canary.enabled=true'],
              ...['--set', 'revision.name=v2', '--set', 'canary.stableRevision=v1'],
            ],
            { home },
          );
          const documents = rendered.split(/^---$/m);
          const prerequisites = documents.filter((d) => /^kind: (Namespace|ServiceAccount)$/m.test(d)).join('---\n');
          await cluster.platform.kubectlInput(prerequisites, 'apply', '-f', '-');
          const out = await cluster.platform.kubectlInput(rendered, 'apply', '--dry-run=server', '-f', '-');
          for (const object of [
            'service.serving.knative.dev/qpipe-execute',
            'broker.eventing.knative.dev/qpipe',
            'trigger.eventing.knative.dev/',
            'cronjob.batch/qpipe-backup',
            'networkpolicy.networking.k8s.io/',
          ])
            expect(out).toContain(object);
          expect(out).not.toMatch(/error/i);
        } finally {
          await rm(home, { recursive: true, force: true });
        }
      },
      120_000,
    );

    it.skipIf(helmMissing() !== undefined)(
      "passes the chart's scheduling values through Serving's real webhook only with the feature flags its README names",
      async () => {
        const home = await mkdtemp(join(tmpdir(), 'qpipe-helm-'));
        try {
          const zone = 'topology.kubernetes.io/zone';
          const scheduling = {
            nodeSelector: { 'qpipe.io/pool': 'quantum' },
            tolerations: [{ key: 'quantum', operator: 'Exists', effect: 'NoSchedule' }],
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  {
                    weight: 100,
                    podAffinityTerm: { topologyKey: zone, labelSelector: { matchLabels: { app: 'qpipe' } } },
                  },
                ],
              },
            },
            topologySpreadConstraints: [{ maxSkew: 1, topologyKey: zone, whenUnsatisfiable: 'ScheduleAnyway' }],
          };
          const valuesFile = join(home, 'values.json');
          await writeFile(valuesFile, JSON.stringify({ scheduling }));
          const rendered = await helm(
            [
              'template',
              'qpipe',
              join(ROOT, 'infra/helm/qpipe'),
              '-n',
              'qpipe-scheduled',
              '--set',
              'namespace.create=true',
              '-f',
              valuesFile,
            ],
            { home },
          );
          const documents = rendered.split(/^---$/m);
          const prerequisites = documents.filter((d) => /^kind: (Namespace|ServiceAccount)$/m.test(d)).join('---\n');
          await cluster.platform.kubectlInput(prerequisites, 'apply', '-f', '-');
          const execute = documents.find((d) => /^kind: Service$/m.test(d) && /name: qpipe-execute$/m.test(d)) ?? '';
          expect(execute).toMatch(/nodeSelector/);
          const dryRun = () => cluster.platform.kubectlInput(execute, 'apply', '--dry-run=server', '-f', '-');
          const features = (value: string) =>
            cluster.kubectl(
              'patch',
              'configmap',
              'config-features',
              '-n',
              'knative-serving',
              '--type=merge',
              '-p',
              JSON.stringify({
                data: Object.fromEntries(Object.values(SCHEDULING_FEATURE_FLAGS).map((f) => [f, value])),
              }),
            );
          // Knative's defaults: every one of these fields refused, by name.
          await features('disabled');
          await eventually('the webhook refusing the scheduling fields', 30_000, async () =>
            dryRun().then(
              () => undefined,
              (error: unknown) =>
                error instanceof Error && /nodeSelector/.test(error.message) ? error.message : undefined,
            ),
          );
          await features('enabled');
          try {
            const accepted = await eventually('the webhook accepting the scheduling fields', 30_000, () =>
              dryRun().then((out) => (out.includes('created (server dry run)') ? out : undefined)),
            );
            expect(accepted).toMatch(/service\.serving\.knative\.dev\/qpipe-execute created/);
          } finally {
            await features('disabled');
          }
        } finally {
          await rm(home, { recursive: true, force: true });
        }
      },
      120_000,
    );

    it('takes its settings from ConfigMap qpipe-config once the Services roll, as README says', async () => {
      const roll = async () => {
        const before = new Map(cluster.pods);
        // README's command: a new revision of every Service, whose pods read the ConfigMap afresh.
        for (const name of (await cluster.kubectl('get', 'ksvc', '-n', 'qpipe', '-o', 'name'))
          .split('\n')
          .filter(Boolean)) {
          const annotations = { 'qpipe.io/config-rolled-at': String(Date.now()) };
          const patch = JSON.stringify({ spec: { template: { metadata: { annotations } } } });
          await cluster.kubectl('patch', '-n', 'qpipe', name, '--type=merge', '-p', patch);
        }
        await eventually('every stage rolled', 60_000, async () =>
          [...before].every(([name, pod]) => cluster.pods.get(name) !== pod) ? true : undefined,
        );
      };
      const settings = (data: Record<string, string>) =>
        cluster.kubectl(
          'patch',
          'configmap',
          '-n',
          'qpipe',
          'qpipe-config',
          '--type=merge',
          '-p',
          JSON.stringify({ data }),
        );
      await settings({ LOG_LEVEL: 'debug', QPIPE_SIMULATOR_MAX_MEMORY: '1MiB' });
      await roll();
      try {
        // 1 MiB holds 16 qubits of doubles: a 17-qubit job has no simulator to run on.
        await apply(cluster, jobFile('too-wide', 'OPENQASM 3;\nqubit[17] q;\nh q;'));
        await cluster.kubectl('wait', '--for=condition=Completed=False', 'qiskitjob/too-wide', '--timeout=60s');
        const job = JSON.parse(await cluster.kubectl('get', 'qiskitjob', 'too-wide', '-o', 'json')) as {
          status: { phase: string; candidates?: { backend: string; reason?: string }[]; message?: string };
        };
        expect(job.status.phase).not.toBe('Succeeded');
        expect(JSON.stringify(job.status)).toMatch(/16 qubits|qubit/);
        expect(cluster.pods.get('qpipe-validate')?.output()).toMatch(/"level":"debug"/);
      } finally {
        await settings({ LOG_LEVEL: 'info', QPIPE_SIMULATOR_MAX_MEMORY: '2GiB' });
        await roll();
      }
    }, 180_000);

    it('leaves jobs in namespaces that are not enabled alone (no event reaches the broker)', async () => {
      await cluster.kubectl('create', 'namespace', 'elsewhere');
      const manifest = join(await mkdtemp(join(tmpdir(), 'qpipe-ns-')), 'bell.yaml');
      await writeFile(
        manifest,
        (await readFile(EXAMPLE, 'utf8')).replace(/namespace: default/g, 'namespace: elsewhere'),
      );
      await cluster.kubectl('apply', '-f', manifest);
      await new Promise((r) => setTimeout(r, 1500));
      expect(cluster.sentToBroker().some((r) => r.subject?.includes('/namespaces/elsewhere/'))).toBe(false);
      expect(await cluster.kubectl('get', 'qiskitjob', 'bell', '-n', 'elsewhere', '-o', 'jsonpath={.status}')).toBe('');
    });

    it('delivers only what the rendered Triggers let through: a forged internal event reaches no stage', async () => {
      const forged = await fetch(`${cluster.ingressUrl}/qpipe/qpipe`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': 'forged-approval',
          'ce-type': 'io.quantum.job.approved',
          // approved is accepted from enforce-budget only.
          'ce-source': '/qpipe/validate',
          'ce-subject': 'default/forged',
          'content-type': 'application/json',
        },
        body: '{}',
      });
      expect(forged.status).toBeLessThan(300);
      await new Promise((r) => setTimeout(r, 1500));
      expect(cluster.arrivals().filter((r) => r.headers['ce-id'] === 'forged-approval')).toEqual([]);
    });

    it('answers every producer at once while execute simulates, and runs one simulation for redelivered copies', async () => {
      const before = await simulations(cluster);
      await apply(cluster, jobFile('slow-dup', slowCircuit(60)));
      const approved = await arrival(cluster, 'execute', 'io.quantum.job.approved', 'default/slow-dup');
      // Three more deliveries of the same event while the first one simulates, as a producer sending again would.
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 3; i++) expect(await cluster.resend(approved)).toBeLessThan(300);
      // Meanwhile a small job goes all the way through: nothing waits behind the simulation.
      await apply(cluster, jobFile('quick', 'OPENQASM 3;\nqubit[2] q;\nh q[0];\ncx q[0], q[1];'));
      await cluster.kubectl('wait', '--for=condition=Completed', 'qiskitjob/quick', '--timeout=60s');
      const first = () =>
        executeAnswers('io.quantum.job.approved', 'default/slow-dup').find((d) => d.at === approved.at);
      expect(first()).toBeUndefined();
      await cluster.kubectl('wait', '--for=condition=Completed', 'qiskitjob/slow-dup', '--timeout=120s');
      const simulated = first();
      expect(simulated?.status).toBeLessThan(300);
      await eventually('the copies answered', 60_000, async () =>
        executeAnswers('io.quantum.job.approved', 'default/slow-dup').filter((d) => d.status < 300).length >= 4
          ? true
          : undefined,
      );
      // One for slow-dup, whatever its copies, and one for quick.
      expect(await simulations(cluster)).toBe(before + 2);
      // The copies were told to come back (503) while it ran, then got the stored result.
      const answers = executeAnswers('io.quantum.job.approved', 'default/slow-dup');
      expect(answers.filter((d) => d.status === 503).length).toBeGreaterThanOrEqual(3);
      // No producer was held for the simulation: the broker answered each send before it ended
      // (the in-memory channel holds a producer for its Triggers' deliveries without async-handler).
      const during = cluster
        .sentToBroker()
        .filter((r) => r.at >= approved.at && r.at < approved.at + (simulated?.ms ?? 0));
      expect(during.length).toBeGreaterThan(3);
      expect(Math.max(...during.map((r) => r.ms))).toBeLessThan(simulated?.ms ?? 0);
      expect(deadLetters()).toEqual([]);
      const uid = JSON.parse(await cluster.kubectl('get', 'qiskitjob', 'slow-dup', '-o', 'json')).metadata.uid;
      expect(await keys(cluster, `runs/default/slow-dup/${uid}-1/`)).toHaveLength(2);
    }, 240_000);

    it('finishes a job once when execute is killed mid-simulation and the broker redelivers', async () => {
      await apply(cluster, jobFile('slow-kill', slowCircuit(60)));
      await arrival(cluster, 'execute', 'io.quantum.job.approved', 'default/slow-kill');
      await new Promise((r) => setTimeout(r, 500));
      await cluster.restart('qpipe-execute');
      await cluster.kubectl('wait', '--for=condition=Completed', 'qiskitjob/slow-kill', '--timeout=180s');
      const job = JSON.parse(await cluster.kubectl('get', 'qiskitjob', 'slow-kill', '-o', 'json'));
      expect(job.status.phase).toBe('Succeeded');
      expect(await keys(cluster, `runs/default/slow-kill/${job.metadata.uid}-1/`)).toHaveLength(2);
      // The killed delivery failed (the connection dropped), and a later one ran the job.
      const answers = executeAnswers('io.quantum.job.approved', 'default/slow-kill');
      expect(answers.filter((d) => d.status >= 500 || d.status === 0).length).toBeGreaterThanOrEqual(1);
      // The claim chain shows the takeover: the killed holder's lease, then the new one.
      expect(await keys(cluster, `claims/execute/${job.metadata.uid}-1/`)).toHaveLength(2);
      expect(deadLetters()).toEqual([]);
    }, 240_000);

    it('retries a failed delivery as the Broker says, and dead-letters one a stage refuses', async () => {
      // enforce-budget is down for a moment: the broker tries again (exponential, from 1 s) until it answers.
      const completed = cluster
        .arrivals()
        .find((r) => r.stage === 'enforce-budget' && r.headers['ce-type'] === 'io.quantum.job.completed');
      expect(completed).toBeDefined();
      const copy = {
        ...(completed as SentRequest),
        headers: { ...completed?.headers, 'ce-id': 'redelivered-completion' },
      };
      const budget = cluster.pods.get('qpipe-enforce-budget');
      budget?.process.kill('SIGKILL');
      expect(await cluster.resend(copy)).toBeLessThan(300);
      await new Promise((r) => setTimeout(r, 1_500));
      await cluster.restart('qpipe-enforce-budget');
      await eventually('the redelivery answered', 30_000, async () =>
        cluster.deliveries().some((d) => d.id === 'redelivered-completion' && d.status < 300) ? true : undefined,
      );
      const attempts = cluster.deliveries().filter((d) => d.id === 'redelivered-completion');
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts.slice(0, -1).every((d) => d.status >= 500 || d.status === 0)).toBe(true);

      // notify refuses an alert it cannot read (400): not retried, sent to the dead-letter sink, recorded.
      const refused = await fetch(`${cluster.ingressUrl}/qpipe/qpipe`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': 'unreadable-alert',
          'ce-type': 'io.quantum.budget.threshold',
          'ce-source': '/qpipe/enforce-budget',
          'content-type': 'application/json',
        },
        body: '{"not":"an alert"}',
      });
      expect(refused.status).toBeLessThan(300);
      await eventually('the dead letter recorded', 30_000, async () =>
        (await keys(cluster, 'dead-letters/')).length > 0 ? true : undefined,
      );
      const toNotify = cluster.deliveries().filter((d) => d.id === 'unreadable-alert' && d.stage === 'notify');
      expect(toNotify.map((d) => d.status)).toEqual([400]);
      expect(deadLetters().map((d) => d.id)).toEqual(['unreadable-alert']);
    }, 120_000);

    it('holds a job for budget without holding any request, and releases it when the limit is raised', async () => {
      await apply(
        cluster,
        [
          {
            apiVersion: 'quantum.io/v1',
            kind: 'QiskitBackend',
            metadata: { name: 'metered', namespace: 'default' },
            spec: { provider: 'local_simulator', pricing: { perShot: '$0.01' } },
          },
          {
            apiVersion: 'quantum.io/v1',
            kind: 'QiskitBudget',
            metadata: { name: 'team', namespace: 'default' },
            spec: { limit: '$0.50', period: 'monthly', enforcement: { blockOnExceed: true, gracePeriod: '1h' } },
          },
        ]
          .map((d) => JSON.stringify(d))
          .join('\n'),
      );
      const job = JSON.parse(jobFile('held', 'OPENQASM 3;\nqubit[1] q;\nh q[0];'));
      job.spec = { ...job.spec, backend: { name: 'metered' }, execution: { shots: 100 } };
      const since = Date.now();
      await apply(cluster, JSON.stringify(job));
      await cluster.kubectl('wait', '--for=jsonpath={.status.phase}=AwaitingBudget', 'qiskitjob/held', '--timeout=30s');
      // Re-checks wait in the store for the timer; nothing holds a request open meanwhile.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(await keys(cluster, 'scheduled/')).not.toEqual([]);
      await cluster.kubectl('patch', 'qiskitbudget', 'team', '--type=merge', '-p', '{"spec":{"limit":"$5.00"}}');
      await cluster.kubectl('wait', '--for=condition=Completed', 'qiskitjob/held', '--timeout=30s');
      expect(JSON.parse(await cluster.kubectl('get', 'qiskitjob', 'held', '-o', 'json')).status.phase).toBe(
        'Succeeded',
      );
      // A stage holding a request would hold it for the re-check's delay, 5 s at least: every
      // request returning well before that is the behaviour, with room for a loaded machine.
      const slowest = Math.max(
        ...cluster.platform.requests
          .filter((r) => r.at >= since && !r.host.startsWith('qpipe-execute'))
          .map((r) => r.ms),
      );
      expect(slowest).toBeLessThan(4_000);
      const held = cluster.deliveries().filter((d) => d.type === 'io.quantum.job.held' && d.stage === 'enforce-budget');
      expect(held.length).toBeLessThan(10);
    }, 120_000);

    it('keeps the status of a job a CI pipeline published directly in the shared store, for qpipe status', async () => {
      const manifest = join(await mkdtemp(join(tmpdir(), 'qpipe-ci-')), 'regression.yaml');
      const job = JSON.parse(jobFile('regression', 'OPENQASM 3;\nqubit[2] q;\nh q[0];\ncx q[0], q[1];'));
      job.metadata.namespace = 'ci-pipeline';
      await writeFile(manifest, JSON.stringify(job));
      const env = { ...process.env, ...cluster.s3.env(cluster.bucket), LOG_LEVEL: 'silent' };
      await run(process.execPath, [BIN, 'submit', manifest, '--to', `${cluster.ingressUrl}/qpipe/qpipe`], { env });
      const { stdout } = await run(
        process.execPath,
        [BIN, 'status', 'regression', '--namespace', 'ci-pipeline', '--wait', '60', '--output', 'json'],
        { env },
      );
      expect(JSON.parse(stdout)).toMatchObject({ phase: 'Succeeded' });
    }, 120_000);

    it('runs a job created while the ApiServerSource was down: the PingSource wakes the timer, which resyncs it', async () => {
      await cluster.stopSource();
      await apply(cluster, jobFile('missed', 'OPENQASM 3;\nqubit[2] q;\nh q[0];\ncx q[0], q[1];'));
      await cluster.startSource();
      // The real adapter sends no add for an object that existed before it started.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(cluster.sentToBroker().some((r) => r.subject === jobSubject('missed'))).toBe(false);
      // PingSource's schedule is once a minute.
      await cluster.kubectl('wait', '--for=condition=Completed', 'qiskitjob/missed', '--timeout=100s');
      const requested = cluster.deliveries().filter((d) => d.type === 'io.quantum.job.requested');
      expect(requested.length).toBeGreaterThanOrEqual(1);
      expect(cluster.deliveries().some((d) => d.stage === 'timer' && d.type === 'dev.knative.sources.ping')).toBe(true);
    }, 150_000);
  },
);

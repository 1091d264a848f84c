/**
 * The README's Knative commands against a real kube-apiserver (etcd, RBAC) and MinIO, with
 * Knative's ApiServerSource and Broker emulated from their code and the rendered manifests
 * (test/support/knative-cluster.ts says what is real and what stands in).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeApiServerMissing } from '../support/kube-apiserver.ts';
import { type KnativeCluster, startKnativeCluster } from '../support/knative-cluster.ts';
import { minioMissing } from '../support/minio.ts';

const missing = kubeApiServerMissing() ?? minioMissing();
const EXAMPLE = new URL('../../examples/bell.yaml', import.meta.url).pathname;
const BIN = new URL('../../bin/qpipe.js', import.meta.url).pathname;
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
  const text = await (await fetch(`${cluster.pods.get('qpipe-execute')?.url}/metrics`)).text();
  return Number(/^qpipe_simulator_seconds_count(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
}

async function keys(cluster: KnativeCluster, prefix: string): Promise<string[]> {
  const listed = await cluster.s3.client.send(new ListObjectsV2Command({ Bucket: cluster.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key ?? '');
}

describe.skipIf(missing !== undefined)(
  `Knative deployment on a real kube-apiserver and MinIO${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let cluster: KnativeCluster;

    beforeAll(async () => {
      // Short leases, so a killed holder's claim lapses within the broker's retries.
      // The PingSource ticks every second instead of every minute; resync after 3 s of standstill.
      cluster = await startKnativeCluster({
        configOverrides: { QPIPE_CLAIM_LEASE_SECONDS: '3', QPIPE_RESYNC_AFTER_SECONDS: '3' },
        tickMs: 1_000,
      });
    }, 120_000);

    afterAll(async () => {
      await cluster.stop();
    });

    it('runs the README flow: label the namespace, kubectl apply, kubectl wait for Completed, once', async () => {
      await cluster.kubectl('label', 'namespace', 'default', 'qpipe.io/jobs=enabled');
      await cluster.kubectl('apply', '-f', EXAMPLE);
      await cluster.kubectl('wait', '--for=condition=Completed', 'qiskitjob/bell', '--timeout=60s');
      const job = JSON.parse(await cluster.kubectl('get', 'qiskitjob', 'bell', '-o', 'json')) as {
        metadata: { uid: string };
        status: { phase: string; observedGeneration: number; results?: { counts?: Record<string, number> } };
      };
      expect(job.status.phase).toBe('Succeeded');
      expect(job.status.observedGeneration).toBe(1);
      await cluster.broker.idle();
      // One run: one raw result and one result document in the shared bucket.
      expect(await keys(cluster, `runs/default/bell/${job.metadata.uid}-1/`)).toHaveLength(2);
      const executions = cluster.broker.deliveries.filter((d) => d.stage === 'execute' && d.status === 200);
      expect(executions).toHaveLength(1);
      // Every status write came back as an update; none started the pipeline again.
      // (A stage may be retried: a new CRD answers 429 while its cache fills.)
      const validated = cluster.broker.deliveries.filter(
        (d) => d.type === 'io.quantum.job.validated' && d.status < 300,
      );
      expect(validated.map((d) => d.stage).sort()).toEqual(['collect-results', 'select-backend']);
      expect(cluster.source.sent.filter((s) => s.type.endsWith('update')).length).toBeGreaterThan(3);
      // Bounded: each stage saw the job a handful of times, not once per status write.
      expect(cluster.broker.deliveries.length).toBeLessThan(40);
      expect(cluster.broker.deadLetters).toEqual([]);
      expect(await cluster.kubectl('get', 'events', '--field-selector', 'involvedObject.name=bell')).toMatch(
        /Succeeded/,
      );
    });

    it('leaves jobs in namespaces that are not enabled alone (no event reaches the broker)', async () => {
      await cluster.kubectl('create', 'namespace', 'elsewhere');
      const manifest = join(await mkdtemp(join(tmpdir(), 'qpipe-ns-')), 'bell.yaml');
      await writeFile(
        manifest,
        (await readFile(EXAMPLE, 'utf8')).replace(/namespace: default/g, 'namespace: elsewhere'),
      );
      await cluster.kubectl('apply', '-f', manifest);
      await new Promise((r) => setTimeout(r, 1500));
      expect(cluster.source.sent.some((s) => s.name.startsWith('elsewhere/'))).toBe(false);
      expect(await cluster.kubectl('get', 'qiskitjob', 'bell', '-n', 'elsewhere', '-o', 'jsonpath={.status}')).toBe('');
    });

    it('runs one simulation when approved is delivered again, concurrently, while it runs', async () => {
      const before = await simulations(cluster);
      const copies: Promise<void>[] = [];
      cluster.broker.tap((event) => {
        if (event.type !== 'io.quantum.job.approved' || event.subject !== 'default/slow-dup') return;
        if (copies.length > 0) return;
        // Three more deliveries of the same event while the first one simulates.
        copies.push(
          new Promise((r) => setTimeout(r, 300)).then(() => [1, 2, 3].forEach(() => cluster.broker.publish(event))),
        );
      });
      await apply(cluster, jobFile('slow-dup', slowCircuit(60)));
      await cluster.kubectl('wait', '--for=condition=Completed', 'qiskitjob/slow-dup', '--timeout=90s');
      await Promise.all(copies);
      await cluster.broker.idle();
      expect(await simulations(cluster)).toBe(before + 1);
      const answers = cluster.broker.deliveries.filter(
        (d) => d.stage === 'execute' && d.type === 'io.quantum.job.approved',
      );
      // The copies were told to come back (503) while it ran, then got the stored result.
      expect(answers.filter((d) => d.status === 503).length).toBeGreaterThanOrEqual(3);
      expect(cluster.broker.deadLetters).toEqual([]);
      const uid = JSON.parse(await cluster.kubectl('get', 'qiskitjob', 'slow-dup', '-o', 'json')).metadata.uid;
      expect(await keys(cluster, `runs/default/slow-dup/${uid}-1/`)).toHaveLength(2);
    }, 120_000);

    it('finishes a job once when execute is killed mid-simulation and the broker redelivers', async () => {
      let killed: Promise<void> | undefined;
      cluster.broker.tap((event) => {
        if (event.type !== 'io.quantum.job.approved' || event.subject !== 'default/slow-kill' || killed) return;
        killed = new Promise((r) => setTimeout(r, 500)).then(() => cluster.restart('qpipe-execute'));
      });
      await apply(cluster, jobFile('slow-kill', slowCircuit(60)));
      await cluster.kubectl('wait', '--for=condition=Completed', 'qiskitjob/slow-kill', '--timeout=120s');
      await killed;
      const job = JSON.parse(await cluster.kubectl('get', 'qiskitjob', 'slow-kill', '-o', 'json'));
      expect(job.status.phase).toBe('Succeeded');
      expect(await keys(cluster, `runs/default/slow-kill/${job.metadata.uid}-1/`)).toHaveLength(2);
      // The killed delivery failed, and a later one ran the job.
      const attempts = cluster.broker.deliveries.filter((d) => d.stage === 'execute' && d.status === 0);
      expect(attempts.length).toBeGreaterThanOrEqual(1);
      // The claim chain shows the takeover: the killed holder's lease, then the new one.
      expect(await keys(cluster, `claims/execute/${job.metadata.uid}-1/`)).toHaveLength(2);
      expect(cluster.broker.deadLetters).toEqual([]);
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
      // delivery returning well before that is the behaviour, with room for a loaded machine.
      const slowest = Math.max(...cluster.broker.deliveries.filter((d) => d.stage !== 'execute').map((d) => d.ms));
      expect(slowest).toBeLessThan(4_000);
      const heldEvents = cluster.broker.deliveries.filter(
        (d) => d.type === 'io.quantum.job.held' && d.stage === 'enforce-budget',
      );
      expect(heldEvents.length).toBeLessThan(10);
    }, 120_000);

    it('keeps the status of a job a CI pipeline published directly in the shared store, for qpipe status', async () => {
      const manifest = join(await mkdtemp(join(tmpdir(), 'qpipe-ci-')), 'regression.yaml');
      const job = JSON.parse(jobFile('regression', 'OPENQASM 3;\nqubit[2] q;\nh q[0];\ncx q[0], q[1];'));
      job.metadata.namespace = 'ci-pipeline';
      await writeFile(manifest, JSON.stringify(job));
      const env = { ...process.env, ...cluster.s3.env(cluster.bucket), LOG_LEVEL: 'silent' };
      await run(process.execPath, [BIN, 'submit', manifest, '--to', cluster.broker.url], { env });
      const { stdout } = await run(
        process.execPath,
        [BIN, 'status', 'regression', '--namespace', 'ci-pipeline', '--wait', '60', '--output', 'json'],
        { env },
      );
      expect(JSON.parse(stdout)).toMatchObject({ phase: 'Succeeded' });
    }, 120_000);

    it('runs a job created while the ApiServerSource was down: the timer resyncs it', async () => {
      cluster.source.stop();
      await apply(cluster, jobFile('missed', 'OPENQASM 3;\nqubit[2] q;\nh q[0];\ncx q[0], q[1];'));
      expect(cluster.source.sent.some((s) => s.name === 'default/missed')).toBe(false);
      await cluster.kubectl('wait', '--for=condition=Completed', 'qiskitjob/missed', '--timeout=60s');
      const requests = cluster.broker.deliveries.filter((d) => d.type === 'io.quantum.job.requested');
      expect(requests.length).toBeGreaterThanOrEqual(1);
    }, 120_000);
  },
);

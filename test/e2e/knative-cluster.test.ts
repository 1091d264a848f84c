/**
 * The README's Knative commands against a real kube-apiserver (etcd, RBAC) and MinIO, with
 * Knative's ApiServerSource and Broker emulated from their code and the rendered manifests
 * (test/support/knative-cluster.ts says what is real and what stands in).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeApiServerMissing } from '../support/kube-apiserver.ts';
import { type KnativeCluster, startKnativeCluster } from '../support/knative-cluster.ts';
import { minioMissing } from '../support/minio.ts';

const missing = kubeApiServerMissing() ?? minioMissing();
const EXAMPLE = new URL('../../examples/bell.yaml', import.meta.url).pathname;

async function keys(cluster: KnativeCluster, prefix: string): Promise<string[]> {
  const listed = await cluster.s3.client.send(new ListObjectsV2Command({ Bucket: cluster.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key ?? '');
}

describe.skipIf(missing !== undefined)(
  `Knative deployment on a real kube-apiserver and MinIO${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let cluster: KnativeCluster;

    beforeAll(async () => {
      cluster = await startKnativeCluster();
    }, 120_000);

    afterAll(async () => {
      await cluster?.stop();
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
  },
);

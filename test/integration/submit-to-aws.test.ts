/**
 * `qpipe submit --bus` and `qpipe status` against AWS endpoints on loopback: a local
 * endpoint answering PutEvents as the EventBridge API reference documents (no EventBridge
 * can run here), and s3rver (with the conditional-write front) for the status record.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../shared/storage/s3-object-store.ts';
import { type S3TestServer, startS3Server } from '../support/s3-server.ts';
import { readResources } from '../../shared/resources/resource-store.ts';

const BIN = new URL('../../bin/qpipe.js', import.meta.url).pathname;

/** Runs the CLI without blocking this process, whose servers the CLI talks to. */
function qpipe(
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('qpipe submit --bus and qpipe status on S3 (local AWS endpoints)', () => {
  let eventbridge: Server;
  let entries: { Source: string; DetailType: string; Detail: string; EventBusName: string }[];
  let s3: S3TestServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    entries = [];
    eventbridge = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const batch = (JSON.parse(body) as { Entries: typeof entries }).Entries;
        entries.push(...batch);
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ FailedEntryCount: 0, Entries: batch.map((_, i) => ({ EventId: `id-${i}` })) }));
      });
    });
    await new Promise<void>((resolve) => eventbridge.listen(0, '127.0.0.1', resolve));
    s3 = await startS3Server(['qpipe-results']);
    env = {
      ...(process.env as Record<string, string>),
      AWS_REGION: 'eu-west-1',
      // s3rver accepts only its own key; the EventBridge endpoint takes any.
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_EVENTBRIDGE: `http://127.0.0.1:${(eventbridge.address() as AddressInfo).port}`,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      QPIPE_S3_FORCE_PATH_STYLE: 'true',
      QPIPE_S3_BUCKET: 'qpipe-results',
    };
  });
  afterAll(async () => {
    eventbridge.close();
    await s3.close();
  });

  it("stores the files' budget and backend (as run applies them) and puts one io.quantum.job.requested entry per job on the named bus", async () => {
    const result = await qpipe(['submit', 'examples/several-jobs.yaml', '--bus', 'qpipe-prod'], env);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(entries.map((e) => [e.EventBusName, e.DetailType, e.Source])).toEqual([
      ['qpipe-prod', 'io.quantum.job.requested', '/qpipe/submit'],
      ['qpipe-prod', 'io.quantum.job.requested', '/qpipe/submit'],
      ['qpipe-prod', 'io.quantum.job.requested', '/qpipe/submit'],
    ]);
    const detail = JSON.parse(entries[0]?.Detail ?? '{}') as { subject: string; data: { job: { kind: string } } };
    expect(detail.subject).toBe('research/ghz3');
    expect(detail.data.job.kind).toBe('QiskitJob');
    const { budgets, backends } = await readResources(new S3ObjectStore(s3.client, 'qpipe-results'));
    expect(budgets.map((b) => `${b.metadata.namespace}/${b.metadata.name}`)).toEqual(['research/team']);
    expect(backends.map((b) => b.metadata.name)).toEqual(['priced-simulator']);
  });

  it('reads a job status record from the S3 bucket', async () => {
    const store = new S3ObjectStore(s3.client, 'qpipe-results');
    await store.put(
      'status/qiskitjobs/research/ghz3.json',
      JSON.stringify({ uid: 'u', status: { phase: 'Succeeded', selectedBackend: 'braket-sv1' } }),
    );
    const result = await qpipe(['status', 'ghz3', '--namespace', 'research', '--output', 'json'], env);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ phase: 'Succeeded', selectedBackend: 'braket-sv1' });
  });
});

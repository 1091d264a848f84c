import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudEvent, HTTP } from 'cloudevents';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { startServe } from '../support/cli.ts';

const BIN = new URL('../../bin/qpipe.js', import.meta.url).pathname;

describe('qpipe serve: the whole pipeline behind one ingress (child process, real HTTP)', () => {
  let child: ChildProcess;
  let url: string;

  beforeAll(async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-serve-'));
    ({ process: child, url } = await startServe(['--port', '0'], { QPIPE_STORE: store }));
  });
  afterAll(() => {
    child.kill('SIGTERM');
  });

  it('accepts a job by POST and completes it; GET /jobs answers its status', async () => {
    const job = parse(readFileSync(new URL('../../examples/bell.yaml', import.meta.url), 'utf8')) as Record<
      string,
      unknown
    >;
    const message = HTTP.binary(
      buildEvent(EventType.JobRequested, { job }, { source: '/ci', subject: 'default/bell' }),
    );
    const posted = await fetch(url, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
    });
    expect(posted.status).toBe(202);
    let body: { status: { phase: string; results?: { counts: Record<string, number> } } } | undefined;
    for (let i = 0; i < 200; i++) {
      const response = await fetch(`${url}/jobs/default/bell`);
      if (response.status === 200) {
        body = (await response.json()) as typeof body;
        if (body?.status.phase === 'Succeeded') break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(body?.status.phase).toBe('Succeeded');
    expect(Object.keys(body?.status.results?.counts ?? {}).sort()).toEqual(['00', '11']);
  });

  it('answers 404 for an unknown job and 400 for an event it does not take', async () => {
    expect((await fetch(`${url}/jobs/default/nobody`)).status).toBe(404);
    const wrong = HTTP.structured(
      buildEvent(
        EventType.BudgetThreshold,
        {
          budget: { namespace: 'a', name: 'b', period: 'total' },
          threshold: 50,
          spent: '$1.00',
          limit: '$2.00',
          topJobs: [],
        },
        { source: '/x' },
      ),
    );
    expect(
      (
        await fetch(url, {
          method: 'POST',
          headers: wrong.headers as Record<string, string>,
          body: wrong.body as string,
        })
      ).status,
    ).toBe(400);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('answers 403 to an API-server event: it has no cluster to check the claim against, so a forged delete frees nothing', async () => {
    const forged = HTTP.binary(
      new CloudEvent({
        type: EventType.ResourceDeleted,
        source: 'https://kubernetes.default.svc',
        data: {
          apiVersion: 'quantum.io/v1',
          kind: 'QiskitJob',
          metadata: { name: 'running', namespace: 'default', uid: 'u-1' },
        },
      }),
    );
    const response = await fetch(url, {
      method: 'POST',
      headers: forged.headers as Record<string, string>,
      body: forged.body as string,
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toMatch(/speaks for a Kubernetes API server/);
  });

  it('answers 400 with the reason, never 202, for what cannot become a job', async () => {
    const post = (headers: Record<string, string>, body: string) =>
      fetch(url, { method: 'POST', headers, body }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const binary = (attributes: Record<string, string>, data: unknown) =>
      post({ 'content-type': 'application/json', ...attributes }, JSON.stringify(data));
    const manifest = { apiVersion: 'quantum.io/v1', kind: 'QiskitJob', metadata: { name: 'bare' }, spec: {} };
    const attributes = { 'ce-id': 'x1', 'ce-source': '/ci', 'ce-type': EventType.JobRequested };

    // A bare manifest as data (not {job: manifest}).
    const bare = await binary({ ...attributes, 'ce-specversion': '1.0' }, manifest);
    expect(bare.status).toBe(400);
    expect(bare.text).toMatch(/job/);
    // CloudEvents 0.3, and no specversion at all.
    const old = await binary({ ...attributes, 'ce-specversion': '0.3' }, { job: manifest });
    expect(old).toMatchObject({ status: 400, text: expect.stringMatching(/specversion: must be 1\.0 \(got 0\.3\)/) });
    const structured = await post(
      { 'content-type': 'application/cloudevents+json' },
      JSON.stringify({ id: 'x2', source: '/ci', type: EventType.JobRequested, data: { job: manifest } }),
    );
    expect(structured).toMatchObject({ status: 400, text: expect.stringMatching(/specversion: is missing/) });
  });
});

describe('qpipe submit and qpipe status against qpipe serve (child processes, real HTTP)', () => {
  it('submits a job to the ingress and waits for its status', async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-submit-'));
    const { process: server, url } = await startServe(['--port', '0'], { QPIPE_STORE: store });
    try {
      const run = (args: string[]) =>
        spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, QPIPE_STORE: store }, encoding: 'utf8' });
      const submitted = run(['submit', 'examples/ghz.yaml', '--to', url, '--output', 'json']);
      expect(submitted.status).toBe(0);
      expect(JSON.parse(submitted.stdout)).toMatchObject([{ namespace: 'default', name: 'ghz' }]);
      const status = run(['status', 'ghz', '--wait', '20', '--output', 'json']);
      expect(status.status).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ phase: 'Succeeded', selectedBackend: 'local-simulator' });
      expect(run(['status', 'nobody']).stderr).toMatch(/default\/nobody: no such job in the store/);
      expect(run(['submit', 'examples/ghz.yaml']).status).toBe(2);
    } finally {
      server.kill('SIGTERM');
    }
  });
});

describe('qpipe serve --stage on Kubernetes (child process)', () => {
  it('refuses to start without shared storage, naming the setting to fill in', () => {
    const result = spawnSync(process.execPath, [BIN, 'serve', '--stage', 'execute', '--port', '0'], {
      env: { ...process.env, QPIPE_CLUSTER: 'kubernetes', QPIPE_S3_BUCKET: '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/QPIPE_S3_BUCKET: is required on Kubernetes: the stages run in separate pods/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

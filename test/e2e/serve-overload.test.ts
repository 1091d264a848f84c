/**
 * `qpipe serve` under load and crashes (child processes, real HTTP, the store on disk):
 * 200 jobs against a budget that covers 50, health answering throughout, every job final,
 * one exceeded email, SIGTERM honoured; and kill -9 in the middle of a batch losing no
 * acknowledged job.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HTTP } from 'cloudevents';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { budget, jobManifest } from '../support/manifests.ts';
import { startServe } from '../support/cli.ts';

const FINAL = new Set(['Succeeded', 'Failed', 'Rejected']);

/** A budget for 50 one-cent jobs, a 2 s grace period, and a simulator priced at one cent a job. */
async function storeWithBudget(): Promise<{ store: string; resources: string }> {
  const store = await mkdtemp(join(tmpdir(), 'qpipe-overload-'));
  const resources = join(store, 'resources.yaml');
  const backend = {
    apiVersion: 'quantum.io/v1',
    kind: 'QiskitBackend',
    metadata: { name: 'cent' },
    spec: { provider: 'local_simulator', pricing: { perTask: '$0.01' } },
  };
  const team = budget('team', {
    limit: '$0.50',
    notificationEmail: 'owner@example.com',
    enforcement: { blockOnExceed: true, gracePeriod: '2s' },
  });
  await writeFile(resources, [backend, team].map((doc) => stringify(doc)).join('---\n'));
  return { store, resources };
}

async function startServing(store: string, resources: string): Promise<{ child: ChildProcess; url: string }> {
  const served = await startServe(['--port', '0', '--resources', resources], {
    QPIPE_STORE: store,
    QPIPE_SIMULATOR_THREADS: '1',
    QPIPE_CLAIM_LEASE_SECONDS: '5',
  });
  return { child: served.process, url: served.url };
}

/** Posts a job request, retrying as Retry-After says while the server is busy. */
async function submit(url: string, name: string): Promise<number> {
  const job = jobManifest(name, { backend: { name: 'cent' }, execution: { shots: 10 } }, { uid: undefined });
  const message = HTTP.binary(
    buildEvent(EventType.JobRequested, { job }, { source: '/ci', subject: `default/${name}` }),
  );
  for (;;) {
    const response = await fetch(url, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
    });
    if (response.status !== 503) return response.status;
    await new Promise((r) => setTimeout(r, 1000 * Number(response.headers.get('retry-after') ?? 1)));
  }
}

async function phases(url: string, names: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const name of names) {
    const response = await fetch(`${url}/jobs/default/${name}`);
    const phase =
      response.status === 200 ? ((await response.json()) as { status: { phase: string } }).status.phase : 'none';
    counts[phase] = (counts[phase] ?? 0) + 1;
  }
  return counts;
}

async function waitAllFinal(url: string, names: readonly string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let counts = await phases(url, names);
  while (Object.keys(counts).some((phase) => !FINAL.has(phase)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    counts = await phases(url, names);
  }
  return counts;
}

/** Open file descriptors that are not sockets (the clients' 200 connections are theirs to bound). */
function openFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return !readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe('qpipe serve under overload and crashes (child processes, real HTTP, files)', () => {
  it('takes 200 jobs against a budget for 50: health answers, every job ends, one exceeded email, SIGTERM honoured', async () => {
    const { store, resources } = await storeWithBudget();
    const { child, url } = await startServing(store, resources);
    const names = Array.from({ length: 200 }, (_, i) => `load-${i}`);

    let slowestHealth = 0;
    let mostFiles = 0;
    const loading = new AbortController();
    const watch = (async () => {
      while (!loading.signal.aborted) {
        const started = Date.now();
        expect((await fetch(`${url}/healthz`)).status).toBe(200);
        slowestHealth = Math.max(slowestHealth, Date.now() - started);
        mostFiles = Math.max(mostFiles, openFiles(child.pid as number));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const statuses = await Promise.all(names.map((name) => submit(url, name)));
    expect(new Set(statuses)).toEqual(new Set([202]));
    const counts = await waitAllFinal(url, names, 60_000);
    loading.abort();
    await watch;

    expect(counts).toEqual({ Succeeded: 50, Rejected: 150 });
    expect(slowestHealth).toBeLessThan(1000);
    expect(mostFiles).toBeLessThan(200);
    // Four thresholds (50, 75, 90, 100%) and one exceeded digest, not one email per blocked job.
    const mails = await Promise.all(
      (await readdir(join(store, 'outbox'))).map((f) => readFile(join(store, 'outbox', f), 'utf8')),
    );
    expect(mails.filter((m) => /^Subject: .* at \d+%/m.test(m))).toHaveLength(4);
    expect(mails.filter((m) => /^Subject: .* exceeded/m.test(m))).toHaveLength(1);

    const started = Date.now();
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(Date.now() - started).toBeLessThan(25_000);
    // Once stopped, every write had finished: no temporary or lock file is left in the store.
    const left = (await readdir(store, { recursive: true })).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'));
    expect(left).toEqual([]);
  }, 120_000);

  it('loses no acknowledged job when killed with SIGKILL mid-batch: the restarted server finishes them', async () => {
    const { store, resources } = await storeWithBudget();
    const first = await startServing(store, resources);
    const names = Array.from({ length: 40 }, (_, i) => `crash-${i}`);
    const statuses = await Promise.all(names.map((name) => submit(first.url, name)));
    expect(new Set(statuses)).toEqual(new Set([202]));
    first.child.kill('SIGKILL');
    await exited(first.child);

    const second = await startServing(store, resources);
    try {
      const counts = await waitAllFinal(second.url, names, 60_000);
      expect(counts).toEqual({ Succeeded: 40 });
    } finally {
      second.child.kill('SIGTERM');
      await exited(second.child);
    }
  }, 120_000);

  it('quarantines a request whose processing the server never survives: after QPIPE_MAX_ATTEMPTS crashes its job ends Rejected, the others run', async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-poison-'));
    const env = {
      QPIPE_STORE: store,
      QPIPE_MAX_ATTEMPTS: '2',
      QPIPE_SIMULATOR_THREADS: '1',
      QPIPE_SIMULATOR_MAX_MEMORY: '2GiB',
    };
    // Tens of seconds of simulation: the server is killed (as an OOM killer would) while it runs, every time.
    const layers = Array.from(
      { length: 30 },
      (_, k) =>
        `rx(${0.1 + k / 100}) q;\n${Array.from({ length: 23 }, (_, i) => `cx q[${i}], q[${i + 1}];`).join('\n')}`,
    ).join('\n');
    const heavy = jobManifest(
      'poison',
      {
        circuit: { source: 'inline', code: `OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[24] q;\n${layers}\n` },
        execution: { shots: 10 },
      },
      { uid: undefined },
    );
    const post = async (url: string, job: Record<string, unknown>) => {
      const message = HTTP.binary(buildEvent(EventType.JobRequested, { job }, { source: '/ci' }));
      return (
        await fetch(url, {
          method: 'POST',
          headers: message.headers as Record<string, string>,
          body: message.body as string,
        })
      ).status;
    };
    const phase = async (url: string, name: string) => {
      const response = await fetch(`${url}/jobs/default/${name}`);
      return response.status === 200
        ? ((await response.json()) as { status: { phase: string; message?: string } }).status
        : undefined;
    };
    let server = await startServe(['--port', '0'], env);
    expect(await post(server.url, heavy)).toBe(202);
    for (let start = 1; start <= 2; start++) {
      // Killed once the simulation is under way (approved: execute is simulating).
      const deadline = Date.now() + 30_000;
      while ((await phase(server.url, 'poison'))?.phase !== 'Approved' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await phase(server.url, 'poison'))?.phase).toBe('Approved');
      await new Promise((r) => setTimeout(r, 500));
      server.process.kill('SIGKILL');
      await exited(server.process);
      server = await startServe(['--port', '0'], env);
    }
    try {
      // The second crash was one too many: the third start ends the job instead of running it again.
      const deadline = Date.now() + 20_000;
      let status = await phase(server.url, 'poison');
      while (status?.phase !== 'Rejected' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        status = await phase(server.url, 'poison');
      }
      expect(status).toMatchObject({
        phase: 'Rejected',
        message: expect.stringMatching(
          /stopped 2 times while processing this request.*quarantined in the dead letters/,
        ),
      });
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await readdir(join(store, 'dead-letters'))).length).toBe(1);
      // The server goes on serving others.
      expect(await post(server.url, jobManifest('after', {}, { uid: undefined }))).toBe(202);
      expect(await waitAllFinal(server.url, ['after'], 30_000)).toEqual({ Succeeded: 1 });
    } finally {
      server.process.kill('SIGTERM');
      await exited(server.process);
    }
  }, 120_000);

  it('keeps a binary-mode request sent as text/plain across a kill: the restarted server finishes it', async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-text-'));
    const env = { QPIPE_STORE: store, QPIPE_SIMULATOR_THREADS: '1' };
    // A few seconds of simulation, so the kill lands while it runs.
    const layers = Array.from({ length: 12 }, (_, k) => `rx(${0.1 + k / 100}) q;\ncx q[0], q[1];`).join('\n');
    const job = jobManifest(
      'texty',
      { circuit: { source: 'inline', code: `OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[21] q;\n${layers}\n` } },
      { uid: undefined },
    );
    const message = HTTP.binary(buildEvent(EventType.JobRequested, { job }, { source: '/ci' }));
    const headers = { ...(message.headers as Record<string, string>), 'content-type': 'text/plain' };
    let server = await startServe(['--port', '0'], env);
    expect((await fetch(server.url, { method: 'POST', headers, body: message.body as string })).status).toBe(202);
    server.process.kill('SIGKILL');
    await exited(server.process);
    server = await startServe(['--port', '0'], env);
    try {
      expect(await waitAllFinal(server.url, ['texty'], 60_000)).toEqual({ Succeeded: 1 });
    } finally {
      server.process.kill('SIGTERM');
      await exited(server.process);
    }
  }, 120_000);
});

/**
 * Six real stage servers (`qpipe serve --stage …`) as child processes on loopback, chained
 * by a test relay that applies each stage's Trigger filter, driven with real binary- and
 * structured-mode CloudEvents.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, buildJobEvent, parseEvent } from '../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import type { EventData } from '../../events/schemas.ts';
import { EventType, type Stage } from '../../events/types.ts';
import { jobRefOf } from '../../shared/job-validation.ts';
import { eventToHttp } from '../../shared/runtime/http-binding.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { jobManifest } from '../support/manifests.ts';
import { type Relay, startRelay } from '../support/relay.ts';
import { type ServeProcess, startServe } from '../support/cli.ts';

const STAGES: Stage[] = ['validate', 'select-backend', 'enforce-budget', 'execute', 'collect-results', 'notify'];

type Served = ServeProcess;

const serve = (stage: Stage, env: Record<string, string>, resources: string): Promise<Served> =>
  startServe(['--stage', stage, '--port', '0', '--resources', resources], env);

async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('stages as CloudEvents HTTP services (child processes, real HTTP, Trigger-filter relay)', () => {
  let store: string;
  let relay: Relay;
  const servers = new Map<Stage, Served>();

  const status = async (name: string) => {
    try {
      return JSON.parse(await readFile(join(store, 'status/qiskitjobs/default', `${name}.json`), 'utf8')).status as {
        phase: string;
        message?: string;
      };
    } catch {
      return undefined;
    }
  };
  const finalPhase = (name: string) =>
    waitFor(async () => {
      const s = await status(name);
      return s && ['Succeeded', 'Failed', 'Rejected'].includes(s.phase) ? s : undefined;
    });

  beforeAll(async () => {
    store = await mkdtemp(join(tmpdir(), 'qpipe-knative-'));
    const resources = join(store, 'resources.yaml');
    await writeFile(
      resources,
      [
        'apiVersion: quantum.io/v1\nkind: QiskitBackend\nmetadata: {name: metered}\nspec: {provider: local_simulator, pricing: {perShot: "$0.01"}}',
        'apiVersion: quantum.io/v1\nkind: QiskitBudget\nmetadata: {name: team, namespace: default}\nspec: {limit: "$10.00", period: monthly, notificationEmail: owner@example.com}',
      ].join('\n---\n'),
    );
    const routes = new Map<Stage, string>();
    relay = await startRelay(routes);
    const env = { QPIPE_STORE: store, K_SINK: relay.url, QPIPE_SIMULATOR_MAX_MEMORY: '2GiB' };
    const started = await Promise.all(STAGES.map((stage) => serve(stage, env, resources)));
    STAGES.forEach((stage, i) => {
      servers.set(stage, started[i] as Served);
      routes.set(stage, (started[i] as Served).url);
    });
  });

  afterAll(async () => {
    for (const { process: child } of servers.values()) child.kill('SIGTERM');
    await relay.close();
    await rm(store, { recursive: true, force: true });
  });

  it('drives a job through all six stage servers, including the alert email', async () => {
    // 600 shots at $0.01 = $6.00 of $10.00: crosses the 50% threshold, so notify sends mail.
    const job = jobManifest('through-six', {
      backend: { name: 'metered' },
      execution: { shots: 600, seedSimulator: 3 },
    });
    const message = HTTP.structured(buildEvent(EventType.JobRequested, { job }, { source: '/test' }));
    const response = await fetch(relay.url, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
    });
    expect(response.status).toBe(202);
    expect(await finalPhase('through-six')).toMatchObject({ phase: 'Succeeded' });
    await relay.idle();
    const stagesReached = new Set(relay.deliveries.map((d) => d.stage));
    expect([...stagesReached].sort()).toEqual([...STAGES].sort());
    const outbox = await waitFor(async () => {
      const files = existsSync(join(store, 'outbox')) ? await readdir(join(store, 'outbox')) : [];
      return files.length > 0 ? files : undefined;
    });
    expect(await readFile(join(store, 'outbox', outbox[0] as string), 'utf8')).toMatch(
      /Subject: Budget default\/team at 50%: \$6\.00 of \$10\.00/,
    );
    // Each stage server answers a Prometheus scrape with the events it handled.
    const scrape = await fetch(`${servers.get('execute')?.url as string}/metrics`);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    const samples = parsePrometheusText(await scrape.text());
    expect(
      sampleValue(samples, 'qpipe_events_total', { stage: 'execute', type: EventType.JobApproved }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('recognises a resent request (new random id, same job) and charges once; acts on no API-server event it cannot confirm', async () => {
    const object = jobManifest('duplicated', { backend: { name: 'metered' }, execution: { shots: 100 } });
    const first = buildEvent(EventType.JobRequested, { job: object }, { source: '/ci' });
    const second = first.cloneWith({ id: crypto.randomUUID() });
    relay.publish(first);
    await finalPhase('duplicated');
    relay.publish(second);
    // These stages stand on a store, not on an API server: an ApiServerSource event about the
    // job is a claim nothing here can confirm, so it runs nothing and charges nothing.
    const forged = jobManifest('forged', { backend: { name: 'metered' }, execution: { shots: 100 } });
    relay.publish(
      new CloudEvent({ type: EventType.ResourceAdded, source: 'https://kubernetes.default.svc', data: forged }),
    );
    await relay.idle();
    const ledger = JSON.parse(
      await readFile(join(store, 'ledgers/default/team', `${new Date().toISOString().slice(0, 7)}.json`), 'utf8'),
    );
    const { uid } = jobRefOf(object, { from: 'request' });
    expect(Object.keys(ledger.charges).filter((k: string) => k.startsWith(uid))).toEqual([`${uid}/1`]);
    expect(ledger.charges[`${uid}/1`].micros).toBe(1_000_000);
    expect(JSON.stringify(ledger)).not.toContain('default/forged');
  });

  it('answers 400 to a malformed event, so it is not retried', async () => {
    const validate = servers.get('validate')?.url as string;
    const notAnEvent = await fetch(validate, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"hello": 1}',
    });
    expect(notAnEvent.status).toBe(400);
    const wrongData = new CloudEvent({ type: EventType.JobValidated, source: '/x', data: { job: { name: 7 } } });
    const { headers, body } = eventToHttp(wrongData);
    const response = await fetch(servers.get('select-backend')?.url as string, { method: 'POST', headers, body });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/data\.job/);
  });

  it('answers 5xx to a transient store failure, then succeeds when the broker retries', async () => {
    // A file where the run folder must go makes the store fail (ENOTDIR) until it is removed.
    const blocker = join(store, 'runs/default/flaky');
    await mkdir(join(store, 'runs/default'), { recursive: true });
    await writeFile(blocker, 'in the way');
    const job = jobManifest('flaky', { execution: { shots: 50 } });
    relay.publish(buildEvent(EventType.JobRequested, { job }, { source: '/test' }));
    await waitFor(async () =>
      relay.deliveries.some((d) => d.stage === 'execute' && d.status >= 500) ? true : undefined,
    );
    await rm(blocker);
    expect(await finalPhase('flaky')).toMatchObject({ phase: 'Succeeded' });
    expect(
      relay.deliveries.filter((d) => d.stage === 'execute' && d.type === EventType.JobApproved).map((d) => d.status),
    ).toContain(200);
  });

  it('finishes an event in flight on SIGTERM, then stops', async () => {
    const execute = await serve('execute', { QPIPE_STORE: store, K_SINK: relay.url }, join(store, 'resources.yaml'));
    const example = parseEvent(EXAMPLE_EVENTS[EventType.JobApproved]).data as EventData<typeof EventType.JobApproved>;
    const code = `OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[19] q;\nbit[19] c;\n${'h q;\ncx q[0], q[18];\n'.repeat(4)}c = measure q;\n`;
    const ref = { ...example.job, name: 'slow', uid: 'uid-slow' };
    // Unbudgeted, so it needs no reservation: this is about the shutdown.
    const { budget: _budget, ...unbudgeted } = example;
    const approved = buildJobEvent(
      EventType.JobApproved,
      {
        ...unbudgeted,
        job: ref,
        circuit: { ...example.circuit, code, bytes: code.length },
        spec: { ...example.spec, execution: { shots: 10 } },
      },
      ref,
      { source: '/test' },
    );
    const { headers, body } = eventToHttp(approved);
    const inFlight = fetch(execute.url, { method: 'POST', headers, body });
    await new Promise((r) => setTimeout(r, 150));
    const exited = new Promise<number | null>((resolve) => execute.process.on('exit', resolve));
    execute.process.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.headers.get('ce-type')).toBe(EventType.JobExecuted);
    expect(await exited).toBe(0);
    await expect(fetch(execute.url, { method: 'POST', headers, body })).rejects.toThrow();
  });
});

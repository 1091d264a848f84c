/**
 * The whole pipeline in one process over real local ports: files for the store, status
 * and ledgers, and .eml files in the outbox. Every event is delivered twice, as an
 * at-least-once bus may, and nothing happens twice.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { ALL_STAGES } from '../../functions/stages.ts';
import { loadConfig } from '../../shared/config.ts';
import { createEmbeddedPipeline, createLocalPorts } from '../../shared/runtime/embedded.ts';
import type { StageDefinition } from '../../shared/runtime/stage.ts';
import { budget, jobManifest } from '../support/manifests.ts';
import { FROZEN_NOW } from '../support/memory-ports.ts';

/** Stages whose every emitted event is published twice. */
const duplicating: StageDefinition[] = ALL_STAGES.map((definition) => ({
  ...definition,
  handle: async (event, ports) => {
    const emitted = await definition.handle(event, ports);
    return [...emitted, ...emitted];
  },
}));

/** Local ports in `dir` with a simulator priced at $0.01 a shot and one budget. */
function pricedPorts(dir: string, teamBudget: ReturnType<typeof budget>) {
  const pricedSimulator = {
    apiVersion: 'quantum.io/v1' as const,
    kind: 'QiskitBackend' as const,
    metadata: { name: 'priced' },
    spec: { provider: 'local_simulator' as const, pricing: { perShot: '$0.01' }, enabled: true },
  };
  const config = loadConfig({ QPIPE_STORE: dir, QPIPE_SIMULATOR_MAX_MEMORY: '1GiB' });
  return createLocalPorts(
    config,
    { budgets: [teamBudget], backends: [pricedSimulator], configMaps: [] },
    () => FROZEN_NOW,
  );
}

describe('embedded pipeline over local files, with every event delivered twice', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qpipe-embedded-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('runs each job once, charges the budget once and emails each crossing once: several thresholds one charge crossed in one mail', async () => {
    const ports = await pricedPorts(dir, budget('team', { limit: '$3.00', notificationEmail: 'owner@example.com' }));
    const pipeline = createEmbeddedPipeline({ stages: duplicating, ports });
    // Three jobs of $1.00 each (100 shots at $0.01) against $3.00: all fit; 50%, 75%, 90% and 100% are crossed.
    const jobs = ['one', 'two', 'three'].map((name) =>
      jobManifest(name, { backend: { name: 'priced' }, execution: { shots: 100, seedSimulator: 5 } }),
    );
    await pipeline.publish(jobs.map((job) => buildEvent(EventType.JobRequested, { job }, { source: '/test' })));
    await pipeline.idle();

    for (const name of ['one', 'two', 'three']) {
      const status = await ports.cluster.readJobStatus('default', name);
      expect(status, name).toMatchObject({ phase: 'Succeeded', actualCost: '$1.00', selectedBackend: 'priced' });
    }
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({
      phase: 'Exceeded',
      spent: '$3.00',
      reserved: '$0.00',
      remaining: '$0.00',
      notifiedThresholds: [50, 75, 90, 100],
    });
    const outbox = (await readdir(join(dir, 'outbox'))).sort();
    const subjects = await Promise.all(
      // A long subject is folded onto continuation lines (RFC 5322): unfolded here.
      outbox.map(async (f) =>
        /^Subject: (.*(?:\r?\n[ \t].*)*)/m
          .exec(await readFile(join(dir, 'outbox', f), 'utf8'))?.[1]
          ?.replace(/\r?\n[ \t]/g, ' '),
      ),
    );
    // The second $1.00 crosses 50%; the third 75%, 90% and 100% at once: two mails, not four.
    expect(subjects.sort()).toEqual([
      'Budget default/team at 100% (crossed 75%, 90% and 100%): $3.00 of $3.00',
      'Budget default/team at 50%: $2.00 of $3.00',
    ]);
    expect(pipeline.bus.deadLetters).toEqual([]);
  });

  it('rejects the job that would overspend, with the amounts, and runs the rest', async () => {
    const ports = await pricedPorts(dir, budget('team', { limit: '$2.50' }));
    const pipeline = createEmbeddedPipeline({ stages: duplicating, ports });
    const jobs = ['a', 'b', 'c'].map((name) =>
      jobManifest(name, { backend: { name: 'priced' }, execution: { shots: 100 } }),
    );
    await pipeline.publish(jobs.map((job) => buildEvent(EventType.JobRequested, { job }, { source: '/test' })));
    await pipeline.idle();
    const statuses = await Promise.all(['a', 'b', 'c'].map((n) => ports.cluster.readJobStatus('default', n)));
    expect(statuses.filter((s) => s?.phase === 'Succeeded')).toHaveLength(2);
    const rejected = statuses.find((s) => s?.phase === 'Rejected');
    expect(rejected?.message).toMatch(
      /enforce-budget: budget default\/team \(2026-11\) cannot cover this job: estimated \$1\.00, .*available \$0\.50/,
    );
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({
      spent: '$2.00',
      reserved: '$0.00',
    });
  });

  it('ends a job whose execution keeps throwing: Failed with the reason after QPIPE_MAX_ATTEMPTS, reservation released', async () => {
    const ports = await pricedPorts(dir, budget('team', { limit: '$2.50' }));
    let calls = 0;
    const broken = {
      ...ports,
      executors: {
        ...ports.executors,
        local_simulator: {
          type: 'local_simulator' as const,
          execute: async () => {
            calls++;
            throw new TypeError("Cannot read properties of undefined (reading 'counts')");
          },
        },
      },
    } as typeof ports;
    const pipeline = createEmbeddedPipeline({ stages: ALL_STAGES, ports: broken });
    const job = jobManifest('broken', { backend: { name: 'priced' }, execution: { shots: 100 } });
    await pipeline.publish([buildEvent(EventType.JobRequested, { job }, { source: '/test' })]);
    await pipeline.idle();
    expect(calls).toBe(ports.config.maxAttempts);
    expect(await ports.cluster.readJobStatus('default', 'broken')).toMatchObject({
      phase: 'Failed',
      message: expect.stringMatching(/execute: failed 3 times: Cannot read properties of undefined/),
    });
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({
      spent: '$0.00',
      reserved: '$0.00',
    });
    expect(pipeline.bus.deadLetters).toEqual([]);
  });
});

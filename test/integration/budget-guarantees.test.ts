/**
 * Ways a tenant could spend money the budget does not see, each closed, on the embedded
 * pipeline over real local files (store, status, ledgers): the ports `qpipe run` uses.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { ALL_STAGES } from '../../functions/stages.ts';
import { currentPeriod } from '../../shared/budget/ledger.ts';
import { ledgerKey } from '../../shared/budget/ledger-store.ts';
import { loadConfig } from '../../shared/config.ts';
import type { QiskitBackend } from '../../shared/resources/schema.ts';
import { createEmbeddedPipeline, createLocalPorts } from '../../shared/runtime/embedded.ts';
import { budget, jobManifest } from '../support/manifests.ts';
import { FROZEN_NOW } from '../support/memory-ports.ts';

const pricedSimulator: QiskitBackend = {
  apiVersion: 'quantum.io/v1',
  kind: 'QiskitBackend',
  metadata: { name: 'priced', namespace: 'default' },
  spec: { provider: 'local_simulator', pricing: { perShot: '$0.01' }, enabled: true },
};

describe('money the budget always sees (embedded pipeline, real local files)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qpipe-budget-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  async function pipelineWith(resources: { budgets: ReturnType<typeof budget>[]; backends: QiskitBackend[] }) {
    const config = loadConfig({ QPIPE_STORE: dir, QPIPE_SIMULATOR_MAX_MEMORY: '1GiB' });
    const ports = await createLocalPorts(config, { ...resources, configMaps: [] }, () => FROZEN_NOW);
    return { ports, pipeline: createEmbeddedPipeline({ stages: ALL_STAGES, ports }) };
  }

  it('rejects a job whose output path is unsafe before anything is reserved or run', async () => {
    const { ports, pipeline } = await pipelineWith({ budgets: [budget('team')], backends: [pricedSimulator] });
    const job = jobManifest('escape', {
      backend: { name: 'priced' },
      output: { type: 'local', path: '../../ledgers' },
    });
    await pipeline.publish([buildEvent(EventType.JobRequested, { job }, { source: '/test' })]);
    await pipeline.idle();

    const status = await ports.cluster.readJobStatus('default', 'escape');
    expect(status).toMatchObject({ phase: 'Rejected' });
    expect(status?.message).toMatch(/spec\.output\.path: "\.\.\/\.\.\/ledgers" is not a safe relative path/);
    expect(status?.selectedBackend).toBeUndefined();
    const period = currentPeriod('monthly', FROZEN_NOW).key;
    const { state } = await ports.ledger.read(ledgerKey({ namespace: 'default', name: 'team', period }));
    expect(state.reservations).toEqual({});
    expect(state.charges).toEqual({});
    expect(await readdir(join(dir, 'runs')).catch(() => [])).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../../events/examples.ts';
import { EventType } from '../../../events/types.ts';
import { stage } from '../../../functions/select-backend/handler.ts';
import { builtinBackends } from '../../../shared/backends/catalog.ts';
import { IBM_DEVICES } from '../../../shared/backends/ibm/devices.ts';
import { normaliseWeights } from '../../../shared/backends/selection.ts';
import type { QiskitBackend } from '../../../shared/resources/schema.ts';
import { runStage } from '../../../shared/runtime/stage.ts';
import { memoryPorts, received } from '../../support/memory-ports.ts';

const priced = (name: string, perShot: string, extra: Partial<QiskitBackend['spec']> = {}): QiskitBackend => ({
  apiVersion: 'quantum.io/v1',
  kind: 'QiskitBackend',
  metadata: { name },
  spec: { provider: 'local_simulator', pricing: { perShot }, enabled: true, ...extra },
});

async function schedule(spec: Record<string, unknown>, backends: QiskitBackend[] = []) {
  const example = parseEvent(EXAMPLE_EVENTS[EventType.JobValidated]);
  if (example.type !== EventType.JobValidated) throw new Error('bad example');
  const event = {
    ...EXAMPLE_EVENTS[EventType.JobValidated].toJSON(),
    data: { ...example.data, spec: { ...example.data.spec, ...spec } },
  };
  const { CloudEvent } = await import('cloudevents');
  const run = await runStage(stage, new CloudEvent(event), memoryPorts({ backends }));
  return received(run.emitted[0] as never);
}

describe('select-backend stage', () => {
  it('schedules on the built-in simulator by default, with every candidate explained', async () => {
    const scheduled = await schedule({});
    expect(scheduled.type).toBe(EventType.JobScheduled);
    if (scheduled.type !== EventType.JobScheduled) return;
    expect(scheduled.data.backend).toMatchObject({
      name: 'local-simulator',
      type: 'local_simulator',
      fallbackUsed: false,
    });
    expect(scheduled.data.candidates[0]).toMatchObject({
      backend: 'local-simulator',
      eligible: true,
      estimatedCost: '$0.00',
    });
  });

  it('prefers the cheaper backend under the cost weight', async () => {
    const scheduled = await schedule(
      { backendSelection: { weights: { cost: 1, queueTime: 0, capability: 0, availability: 0 } } },
      [priced('dear', '$0.01'), priced('cheap', '$0.001')],
    );
    if (scheduled.type !== EventType.JobScheduled) throw new Error(scheduled.type);
    // local-simulator is free, so it wins; then cheap beats dear.
    const ranked = scheduled.data.candidates
      .filter((c) => c.eligible)
      .sort((a, b) => b.score - a.score)
      .map((c) => c.backend);
    expect(ranked).toEqual(['local-simulator', 'cheap', 'dear']);
  });

  it('honours a pinned name, exclusions and preferences', async () => {
    const pinned = await schedule({ backend: { name: 'dear' } }, [priced('dear', '$0.01')]);
    if (pinned.type !== EventType.JobScheduled) throw new Error(pinned.type);
    expect(pinned.data.backend.name).toBe('dear');
    expect(pinned.data.estimate.totalMicros).toBe(10_240_000);

    const excluded = await schedule({ backendSelection: { excludedBackends: ['local-simulator'] } }, [
      priced('other', '$0'),
    ]);
    if (excluded.type !== EventType.JobScheduled) throw new Error(excluded.type);
    expect(excluded.data.backend.name).toBe('other');
    expect(excluded.data.candidates.find((c) => c.backend === 'local-simulator')).toMatchObject({
      eligible: false,
      reason: 'excluded by the job',
    });

    const preferred = await schedule({ backendSelection: { preferredBackends: ['twin'] } }, [priced('twin', '$0')]);
    if (preferred.type !== EventType.JobScheduled) throw new Error(preferred.type);
    expect(preferred.data.backend.name).toBe('twin');
  });

  it('names a pinned backend nothing answers to as unknown, with the close names (once a wall of exclusions)', async () => {
    const rejected = await schedule({ backend: { name: 'ibm_torinno' } });
    expect(rejected.type).toBe(EventType.JobRejected);
    if (rejected.type !== EventType.JobRejected) return;
    expect(rejected.data.reason).toMatch(
      /^spec\.backend\.name: no backend named "ibm_torinno"; did you mean "ibm_torino"\?/,
    );
    expect(rejected.data.reason).not.toMatch(/not the pinned backend/);
  });

  it('offers every IBM system the transpiler knows (once one of four)', () => {
    const ibm = builtinBackends({ simulatorMaxQubits: 30 }).filter((b) => b.type === 'ibm_quantum');
    expect(ibm.map((b) => b.name).sort()).toEqual([...IBM_DEVICES.keys()].sort());
    for (const backend of ibm) expect(backend.qubits).toBe(IBM_DEVICES.get(backend.name)?.qubits);
  });

  it('falls back to the simulator when the requested provider is not configured and fallback is allowed', async () => {
    const scheduled = await schedule({
      backend: { type: 'aws_braket' },
      backendSelection: { fallbackToSimulator: true },
    });
    if (scheduled.type !== EventType.JobScheduled) throw new Error(scheduled.type);
    expect(scheduled.data.backend).toMatchObject({
      name: 'local-simulator',
      fallbackUsed: true,
      originalBackend: 'aws_braket',
    });
  });

  it('rejects with the reason of every candidate when nothing fits and fallback is off', async () => {
    const rejected = await schedule({
      backend: { type: 'aws_braket' },
      backendSelection: { fallbackToSimulator: true },
      execution: { shots: 10, disableFallback: true },
    });
    expect(rejected.type).toBe(EventType.JobRejected);
    if (rejected.type !== EventType.JobRejected) return;
    expect(rejected.data.reason).toMatch(/local-simulator: not of type aws_braket/);
    expect(rejected.data.reason).toMatch(/fallbackToSimulator/);
  });

  it('excludes backends with too few qubits or over requirements.maxCost', async () => {
    const rejected = await schedule({ backend: { name: 'tiny' } }, [priced('tiny', '$0', { qubits: 1 })]);
    if (rejected.type !== EventType.JobRejected) throw new Error(rejected.type);
    expect(rejected.data.reason).toMatch(/tiny: has 1 qubits, the job needs 2/);
    const costly = await schedule(
      { backend: { name: 'dear' }, backendSelection: { requirements: { maxCost: '$0.001' } } },
      [priced('dear', '$0.01')],
    );
    if (costly.type !== EventType.JobRejected) throw new Error(costly.type);
    expect(costly.data.reason).toMatch(/costs \$10\.24, more than requirements\.maxCost \$0\.001/);
  });

  it('asks providers for live status only about devices the job could use', async () => {
    const asked: string[] = [];
    const ports = memoryPorts();
    ports.executors.aws_braket = {
      type: 'aws_braket',
      execute: async () => {
        throw new Error('not called');
      },
      status: async (backend) => {
        asked.push(backend.name);
        return { online: true, queueDepth: 0 };
      },
    };
    const example = parseEvent(EXAMPLE_EVENTS[EventType.JobValidated]);
    if (example.type !== EventType.JobValidated) throw new Error('bad example');
    const { CloudEvent } = await import('cloudevents');
    const validated = (spec: Record<string, unknown>) =>
      new CloudEvent({
        ...EXAMPLE_EVENTS[EventType.JobValidated].toJSON(),
        data: { ...example.data, spec: { ...example.data.spec, ...spec } },
      } as never);
    await runStage(stage, validated({ backend: { name: 'local-simulator' } }), ports);
    expect(asked).toEqual([]);
    await runStage(stage, validated({ backendSelection: { excludedBackends: ['braket-dm1', 'braket-tn1'] } }), ports);
    expect(asked).toContain('braket-sv1');
    expect(asked).not.toContain('braket-dm1');
  });

  it('normalises weights, filling missing ones from the balanced preset', () => {
    expect(normaliseWeights({ cost: 2, queueTime: 0, capability: 0, availability: 0 })).toEqual({
      cost: 1,
      queueTime: 0,
      capability: 0,
      availability: 0,
    });
    const filled = normaliseWeights({ cost: 0.4 });
    expect(Object.values(filled).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(normaliseWeights({ cost: 0, queueTime: 0, capability: 0, availability: 0 }).cost).toBeGreaterThan(0);
  });
});

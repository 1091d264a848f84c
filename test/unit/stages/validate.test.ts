import { describe, expect, it } from 'vitest';
import { buildEvent, type TypedEvent } from '../../../events/envelope.ts';
import { EventType } from '../../../events/types.ts';
import { stage as validateStage, validate } from '../../../functions/validate/handler.ts';
import { runStage } from '../../../shared/runtime/stage.ts';
import { TransientError } from '../../../shared/errors.ts';
import { apiServerSourceEvent } from '../../support/apiserver-source.ts';
import { jobManifest } from '../../support/manifests.ts';
import { memoryPorts, received, withHeldObjects } from '../../support/memory-ports.ts';

const requested = (job: Record<string, unknown>) => buildEvent(EventType.JobRequested, { job }, { source: '/test' });

describe('validate stage', () => {
  it('emits validated with the circuit metadata and the spec without inline code', async () => {
    const ports = memoryPorts();
    const [event] = await validate(
      received(requested(jobManifest('bell'))) as TypedEvent<typeof EventType.JobRequested>,
      ports,
    );
    const validated = received(event as never);
    expect(validated.type).toBe(EventType.JobValidated);
    if (validated.type !== EventType.JobValidated) return;
    expect(validated.data.job).toMatchObject({ namespace: 'default', name: 'bell', generation: 1 });
    expect(validated.data.metadata).toMatchObject({ qubits: 2, gateCount: 2, measurements: 2 });
    expect(validated.data.circuit.code).toContain('cx q[0], q[1]');
    expect(validated.data.spec.circuit).toEqual({ source: 'inline' });
    expect(validated.subject).toBe('default/bell');
  });

  it('never takes a uid from the requester: the same uid in another namespace is another job', async () => {
    const ports = memoryPorts();
    const uidOf = async (job: Record<string, unknown>, jobuid?: string) => {
      const run = await runStage(
        validateStage,
        buildEvent(EventType.JobRequested, { job }, { source: '/ci', ...(jobuid ? { jobuid } : {}) }),
        ports,
      );
      const validated = received(run.emitted[0] as never);
      if (validated.type !== EventType.JobValidated) throw new Error(validated.type);
      return validated.data.job.uid;
    };
    const victim = await uidOf(jobManifest('bell', {}, { namespace: 'alice', uid: 'victim-uid' }));
    expect(victim).not.toBe('victim-uid');
    expect(await uidOf(jobManifest('bell', {}, { namespace: 'mallory', uid: 'victim-uid' }))).not.toBe(victim);
    expect(await uidOf(jobManifest('bell', {}, { namespace: 'mallory', uid: 'x' }), victim)).not.toBe(victim);
    // The same request sent again is the same job.
    expect(await uidOf(jobManifest('bell', {}, { namespace: 'alice', uid: 'victim-uid' }))).toBe(victim);
  });

  it('reads a circuit from a referenced ConfigMap', async () => {
    const ports = memoryPorts({
      configMaps: [{ namespace: 'default', name: 'circuits', data: { 'one.qasm': 'OPENQASM 3;\nqubit q;\nh q;' } }],
    });
    const job = jobManifest('cm', {
      circuit: { source: 'configmap', configMapRef: { name: 'circuits', key: 'one.qasm' } },
    });
    const run = await runStage(validateStage, requested(job), ports);
    expect(run.emitted.map((e) => e.type)).toEqual([EventType.JobValidated]);
  });

  it('passes a circuit over 64 KiB by reference (claim check) and keeps the event small', async () => {
    const ports = memoryPorts();
    const code = `OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n${'h q[0];\n'.repeat(10_000)}`;
    const run = await runStage(
      validateStage,
      requested(jobManifest('big', { circuit: { source: 'inline', code } })),
      ports,
    );
    const validated = received(run.emitted[0] as never);
    if (validated.type !== EventType.JobValidated) throw new Error(validated.type);
    expect(validated.data.circuit.code).toBeUndefined();
    expect(validated.data.circuit.ref).toMatch(/^circuits\/default\/[0-9a-f]{64}\.qasm$/);
    expect(validated.extensions.circuitref).toBe(validated.data.circuit.ref);
    expect(ports.store.objects.get(validated.data.circuit.ref as string)?.byteLength).toBe(code.length);
    expect(JSON.stringify(validated.data).length).toBeLessThan(10_000);
  });

  it.each([
    ['a missing circuit', { circuit: undefined }, /spec\.circuit: is required/],
    ['zero shots', { execution: { shots: 0 } }, /spec\.execution\.shots: must be at least 1/],
    [
      'a syntax error',
      { circuit: { source: 'inline', code: 'OPENQASM 2.0;\nqreg q[1];\nh q[0]' } },
      /3:7: expected ";"/,
    ],
    ['Python code', { circuit: { source: 'inline', code: 'from qiskit import QuantumCircuit\n' } }, /qasm3\.dumps/],
    [
      'a missing ConfigMap',
      { circuit: { source: 'configmap', configMapRef: { name: 'nope', key: 'k' } } },
      /ConfigMap nope has no key "k"/,
    ],
    [
      'more qubits than the built-in simulator it is pinned to can hold',
      {
        backend: { type: 'local_simulator' },
        circuit: { source: 'inline', code: 'OPENQASM 3;\nqubit[28] q;\nh q[0];' },
      },
      /needs 4 GiB of memory, more than the simulator's limit of 1 GiB; run it on a managed simulator/,
    ],
  ])('rejects a job with %s, naming the problem', async (_case, spec, message) => {
    const run = await runStage(validateStage, requested(jobManifest('bad', spec)), memoryPorts());
    expect(run.emitted).toHaveLength(1);
    const rejected = received(run.emitted[0] as never);
    expect(rejected.type).toBe(EventType.JobRejected);
    if (rejected.type !== EventType.JobRejected) return;
    expect(rejected.data.job.name).toBe('bad');
    expect(rejected.data.stage).toBe('validate');
    expect(rejected.data.reason).toMatch(message);
  });

  it('rejects a job pinned to the built-in simulator whose gates would not fit in its memory', async () => {
    const ports = memoryPorts();
    const small = {
      ...ports,
      config: { ...ports.config, simulator: { ...ports.config.simulator, maxMemoryBytes: 256 * 2 ** 20 } },
    };
    const job = jobManifest('deep', {
      backend: { type: 'local_simulator' },
      circuit: { source: 'inline', code: 'OPENQASM 3;\nqubit q;\nfor int i in [1:200000] { x q; x q; x q; }' },
    });
    const rejected = received((await runStage(validateStage, requested(job), small)).emitted[0] as never);
    expect(rejected.type === EventType.JobRejected && rejected.data.reason).toMatch(
      /simulating 1 qubits and 600000 gates needs 293 MiB of memory, more than the simulator's limit of 256 MiB/,
    );
  });

  it('gives a request without a uid a stable one, so a resent request is the same job', async () => {
    const job = jobManifest('no-uid', {}, { uid: undefined });
    const first = received((await runStage(validateStage, requested(job), memoryPorts())).emitted[0] as never);
    const second = received((await runStage(validateStage, requested(job), memoryPorts())).emitted[0] as never);
    expect(first.extensions.jobuid).toBeDefined();
    expect(second.extensions.jobuid).toBe(first.extensions.jobuid);
    expect(second.id).toBe(first.id);
  });

  it('ends a job whose validation fails inside qpipe, rather than leave it Pending and replayed', async () => {
    const circuits = { namespace: 'default', name: 'circuits', data: { 'one.qasm': 'OPENQASM 3;\nqubit q;\nh q;' } };
    const fromConfigMap = (key: string) =>
      requested(jobManifest('cm', { circuit: { source: 'configmap', configMapRef: { name: 'circuits', key } } }));
    // A key that is an Object.prototype member names no entry.
    const proto = received(
      (await runStage(validateStage, fromConfigMap('__proto__'), memoryPorts({ configMaps: [circuits] })))
        .emitted[0] as never,
    );
    expect(proto.type).toBe(EventType.JobRejected);
    expect(proto.data).toMatchObject({ reason: expect.stringMatching(/ConfigMap circuits has no key "__proto__"/) });
    // A fault outside qpipe's error tree (a bug) would recur at every attempt: the job ends at once, with it.
    const broken = memoryPorts({ configMaps: [circuits] });
    broken.cluster.readConfigMapKey = () =>
      Promise.reject(new TypeError("Cannot read properties of undefined (reading 'length')"));
    const bug = await runStage(validateStage, fromConfigMap('one.qasm'), broken);
    expect(bug.retry).toBeUndefined();
    expect(received(bug.emitted[0] as never).data).toMatchObject({
      reason: expect.stringMatching(/^qpipe failed validating the job \(an internal error\): Cannot read properties/),
    });
    // A transient fault is retried, and once the attempts are spent the job ends, named though its event does not.
    const down = memoryPorts({ configMaps: [circuits] });
    down.cluster.readConfigMapKey = () => Promise.reject(new TransientError('the API server is unavailable'));
    const attempts = [];
    const redelivered = fromConfigMap('one.qasm');
    for (let i = 0; i < down.config.maxAttempts; i++) attempts.push(await runStage(validateStage, redelivered, down));
    expect(attempts.slice(0, -1).every((a) => a.retry !== undefined && a.emitted.length === 0)).toBe(true);
    const last = received(attempts.at(-1)?.emitted[0] as never);
    expect(last.type).toBe(EventType.JobRejected);
    expect(last.data).toMatchObject({
      reason: expect.stringMatching(/failed \d+ times: the API server is unavailable/),
    });
  });

  it('handles ApiServerSource events for QiskitJobs and ignores other kinds', async () => {
    const ports = withHeldObjects(memoryPorts(), [
      { kind: 'QiskitJob', namespace: 'default', name: 'from-k8s', uid: 'uid-from-k8s', generation: 1 },
    ]);
    const add = buildEvent(EventType.ResourceAdded, jobManifest('from-k8s'), { source: 'https://kubernetes' });
    expect((await runStage(validateStage, add, ports)).emitted.map((e) => e.type)).toEqual([EventType.JobValidated]);
    const budget = buildEvent(
      EventType.ResourceAdded,
      { apiVersion: 'quantum.io/v1', kind: 'QiskitBudget' },
      { source: 'https://kubernetes' },
    );
    expect((await runStage(validateStage, budget, ports)).emitted).toEqual([]);
  });

  it('acts on an ApiServerSource event only when the cluster holds that object with that uid', async () => {
    const add = buildEvent(EventType.ResourceAdded, jobManifest('forged'), { source: 'https://kubernetes' });
    const holding = (uid: string) =>
      withHeldObjects(memoryPorts(), [{ kind: 'QiskitJob', namespace: 'default', name: 'forged', uid, generation: 1 }]);
    expect((await runStage(validateStage, add, withHeldObjects(memoryPorts(), []))).emitted).toEqual([]);
    expect((await runStage(validateStage, add, holding('another-uid'))).emitted).toEqual([]);
    // Files and the store stand for no API server: nothing there can confirm the event.
    expect((await runStage(validateStage, add, memoryPorts())).emitted).toEqual([]);
    expect((await runStage(validateStage, add, holding('uid-forged'))).emitted.map((e) => e.type)).toEqual([
      EventType.JobValidated,
    ]);
  });

  it('names the requester the cluster stamped on its own copy, never one the event or a request claims', async () => {
    const manifest = jobManifest('stamped', {}, { annotations: { 'quantum.io/requested-by': 'mallory' } });
    const requesterOf = async (ports: ReturnType<typeof memoryPorts>, event: Parameters<typeof runStage>[1]) => {
      const validated = received((await runStage(validateStage, event, ports)).emitted[0] as never);
      if (validated.type !== EventType.JobValidated) throw new Error(validated.type);
      return validated.data.requestedBy;
    };
    const held = (annotations?: Record<string, string>) =>
      withHeldObjects(memoryPorts(), [
        {
          kind: 'QiskitJob',
          namespace: 'default',
          name: 'stamped',
          uid: 'uid-stamped',
          generation: 1,
          ...(annotations ? { annotations } : {}),
        },
      ]);
    const add = buildEvent(EventType.ResourceAdded, manifest, { source: 'https://kubernetes' });
    expect(await requesterOf(held({ 'quantum.io/requested-by': 'alice' }), add)).toBe('Kubernetes user alice');
    expect(await requesterOf(held(), add)).toBe('the Kubernetes API (requester not stamped)');
    expect(await requesterOf(memoryPorts(), requested(manifest))).toBe('a request from /test');
  });

  describe('on ApiServerSource events (their shape as Knative sends them)', () => {
    const cluster = () =>
      withHeldObjects(memoryPorts(), [
        {
          kind: 'QiskitJob',
          namespace: 'default',
          name: 'served',
          uid: '6b1f0c2e-8f7e-4a3c-9d55-0c3f3b1e2a11',
          generation: 2,
        },
      ]);
    // The object as the API server returns it after collect-results' first status write.
    const served = (generation: number, observedGeneration?: number) => ({
      ...jobManifest('served', {}, { generation }),
      metadata: {
        name: 'served',
        namespace: 'default',
        uid: '6b1f0c2e-8f7e-4a3c-9d55-0c3f3b1e2a11',
        generation,
        resourceVersion: '4711',
        creationTimestamp: '2026-11-30T01:00:00Z',
        managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', time: '2026-11-30T01:00:00Z' }],
      },
      status: {
        phase: 'Validated',
        startTime: '2026-11-30T01:00:01Z',
        ...(observedGeneration === undefined ? {} : { observedGeneration }),
        conditions: [
          {
            type: 'Validated',
            status: 'True',
            reason: 'CircuitValid',
            message: 'ok',
            lastTransitionTime: '2026-11-30T01:00:01.123456Z',
          },
        ],
      },
    });

    it('validates the spec of an object read back with status and server-set fields', async () => {
      const run = await runStage(validateStage, apiServerSourceEvent('update', served(2, 1)), cluster());
      expect(run.error).toBeUndefined();
      expect(run.emitted.map((e) => e.type)).toEqual([EventType.JobValidated]);
      const validated = received(run.emitted[0] as never);
      expect(validated.extensions.jobgeneration).toBe(2);
    });

    it('does no work for an update caused by a status write (generation already observed)', async () => {
      const run = await runStage(validateStage, apiServerSourceEvent('update', served(1, 1)), memoryPorts());
      expect(run).toEqual({ emitted: [] });
    });

    it('does no work when the adapter re-lists an object it already sent (add after a restart)', async () => {
      const run = await runStage(validateStage, apiServerSourceEvent('add', served(3, 3)), memoryPorts());
      expect(run.emitted).toEqual([]);
    });

    it('still rejects a spec change that is invalid, naming the field', async () => {
      const object = served(2, 1) as unknown as { spec: Record<string, unknown> };
      const run = await runStage(
        validateStage,
        apiServerSourceEvent('update', { ...object, spec: { ...object.spec, execution: { shots: 0 } } }),
        cluster(),
      );
      const rejected = received(run.emitted[0] as never);
      if (rejected.type !== EventType.JobRejected) throw new Error(rejected.type);
      expect(rejected.data.reason).toMatch(/spec\.execution\.shots: must be at least 1/);
    });
  });
});

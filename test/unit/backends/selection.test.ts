/**
 * Selection, rule by rule: each weight, each hard constraint (static and live), pins,
 * preferences, exclusions and the simulator fallback, over a fixed catalog.
 */
import { describe, expect, it } from 'vitest';
import type { BackendEntry, DeviceStatus } from '../../../shared/backends/backend.ts';
import { circuitProblem } from '../../../shared/backends/compatibility.ts';
import type { StatusReading } from '../../../shared/backends/device-status.ts';
import { type SelectionRequest, selectBackend } from '../../../shared/backends/selection.ts';
import { InvalidInputError } from '../../../shared/errors.ts';
import { FREE, parsePricing } from '../../../shared/pricing/pricing.ts';
import { compileQasm } from '../../../shared/qasm/index.ts';
import type { BackendType, QiskitJobSpec } from '../../../shared/resources/schema.ts';

const backend = (
  name: string,
  type: BackendType,
  qubits: number,
  perShot = '$0',
  extra: Partial<BackendEntry> = {},
): BackendEntry => ({
  name,
  type,
  qubits,
  pricing: perShot === '$0' ? FREE : parsePricing({ perShot }, name),
  enabled: true,
  origin: 'builtin',
  ...extra,
});

const CATALOG: BackendEntry[] = [
  backend('local-simulator', 'local_simulator', 20),
  backend('cheap-qpu', 'aws_braket', 25, '$0.0003', { deviceId: 'arn:cheap' }),
  backend('big-qpu', 'aws_braket', 80, '$0.0009', { deviceId: 'arn:big' }),
  backend('ibm-qpu', 'ibm_quantum', 127, '$0.0005'),
];
const ALL: ReadonlySet<BackendType> = new Set(['local_simulator', 'aws_braket', 'ibm_quantum']);
const bell = compileQasm('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0];\ncx q[0], q[1];\n');

const online = (queueDepth: number, extra: Partial<DeviceStatus> = {}): StatusReading => ({
  status: { online: true, queueDepth, ...extra },
});

function select(
  spec: Partial<QiskitJobSpec>,
  options: Partial<Omit<SelectionRequest, 'statuses'>> & { statuses?: Record<string, StatusReading> } = {},
) {
  return selectBackend({
    spec: { circuit: { source: 'inline', code: '' }, ...spec },
    metadata: bell.metadata,
    shots: 1000,
    backends: CATALOG,
    availableTypes: ALL,
    ...options,
    statuses: new Map(Object.entries(options.statuses ?? {})),
  });
}

const reasonOf = (selection: ReturnType<typeof select>, name: string) =>
  selection.candidates.find((c) => c.backend === name)?.reason;

describe('selection: one weight at a time decides', () => {
  const statuses = {
    'cheap-qpu': online(40),
    'big-qpu': online(0),
    'ibm-qpu': { error: 'IBM did not answer' } as StatusReading,
  };
  const onlyProviders = { excludedBackends: ['local-simulator'] };
  it.each([
    ['cost', 'cheap-qpu'],
    ['queueTime', 'big-qpu'],
    ['capability', 'ibm-qpu'],
  ])('weight %s alone picks %s', (weight, expected) => {
    const weights = { cost: 0, queueTime: 0, capability: 0, availability: 0, [weight]: 1 };
    expect(select({ backendSelection: { ...onlyProviders, weights } }, { statuses }).backend.name).toBe(expected);
  });

  it('availability alone ranks a device whose status is unknown below devices known to be online', () => {
    const weights = { cost: 0, queueTime: 0, capability: 0, availability: 1 };
    const selection = select({ backendSelection: { ...onlyProviders, weights } }, { statuses });
    const score = (name: string) => selection.candidates.find((c) => c.backend === name)?.scores['availability'];
    expect(score('ibm-qpu')).toBe(0.5);
    expect(score('big-qpu')).toBe(1);
    expect(selection.backend.name).not.toBe('ibm-qpu');
  });

  it('the balanced preset applies when the job sets no weights, and the candidates carry the queue', () => {
    const selection = select({ backendSelection: onlyProviders }, { statuses });
    expect(selection.candidates.find((c) => c.backend === 'cheap-qpu')).toMatchObject({
      queueDepth: 40,
      eligible: true,
    });
    expect(selection.backend.name).toBe('cheap-qpu');
  });
});

describe('selection: hard constraints exclude with a reason', () => {
  it.each<[string, Partial<QiskitJobSpec>, Record<string, StatusReading>, string, RegExp]>([
    [
      'offline',
      {},
      { 'big-qpu': { status: { online: false, detail: 'Braket reports OFFLINE' } } },
      'big-qpu',
      /^offline \(Braket reports OFFLINE\)$/,
    ],
    ['live qubit count', {}, { 'big-qpu': online(0, { qubits: 1 }) }, 'big-qpu', /has 1 qubits, the job needs 2/],
    [
      'shots range',
      {},
      { 'cheap-qpu': online(0, { shotsRange: [1, 500] }) },
      'cheap-qpu',
      /takes 1 to 500 shots, the job asks for 1000/,
    ],
    [
      'maxQueueTime',
      { backendSelection: { requirements: { maxQueueTime: '30m' } } },
      { 'cheap-qpu': online(40) },
      'cheap-qpu',
      /queue of 40 tasks \(about 40 min\) exceeds requirements.maxQueueTime 30m/,
    ],
    [
      'minQubits',
      { backendSelection: { requirements: { minQubits: 50 } } },
      {},
      'cheap-qpu',
      /has 25 qubits, the job needs 50/,
    ],
    [
      'maxCost',
      { backendSelection: { requirements: { maxCost: '$0.50' } } },
      {},
      'big-qpu',
      /more than requirements.maxCost \$0.50/,
    ],
    ['exclusion', { backendSelection: { excludedBackends: ['ibm-qpu'] } }, {}, 'ibm-qpu', /excluded by the job/],
    ['pinned name', { backend: { name: 'big-qpu' } }, {}, 'cheap-qpu', /not the pinned backend big-qpu/],
    ['pinned type', { backend: { type: 'ibm_quantum' } }, {}, 'big-qpu', /not of type ibm_quantum/],
  ])('%s', (_, spec, statuses, excluded, reason) => {
    expect(reasonOf(select(spec, { statuses }), excluded)).toMatch(reason);
  });

  it('a type the deployment cannot run, and a disabled backend', () => {
    const selection = select({}, { availableTypes: new Set(['local_simulator', 'aws_braket']) });
    expect(reasonOf(selection, 'ibm-qpu')).toBe('ibm_quantum is not configured in this deployment');
    const disabled = selectBackend({
      spec: { circuit: { source: 'inline', code: '' } },
      metadata: bell.metadata,
      shots: 10,
      backends: [...CATALOG.slice(1), { ...CATALOG[0]!, enabled: false }],
      availableTypes: ALL,
    });
    expect(disabled.candidates.find((c) => c.backend === 'local-simulator')?.reason).toBe('disabled');
  });

  it('operations a device cannot run after translation or transpilation', () => {
    const measuredTwice = compileQasm(
      'OPENQASM 3.0;\nqubit[1] q;\nbit[2] c;\nc[0] = measure q[0];\nU(1,0,0) q[0];\nc[1] = measure q[0];\n',
    );
    const selection = select(
      {},
      {
        metadata: measuredTwice.metadata,
        circuitProblem: (b, gates) => circuitProblem(measuredTwice.circuit, b, gates),
      },
    );
    expect(reasonOf(selection, 'cheap-qpu')).toMatch(
      /Amazon Braket runs only circuits whose measurements come last \(mid-circuit measurement\)/,
    );
    expect(reasonOf(selection, 'ibm-qpu')).toMatch(/ibm-qpu lists no basis gates/);
    expect(selection.backend.name).toBe('local-simulator');
    const lacking = select(
      {},
      {
        circuitProblem: (b, gates) => circuitProblem(bell.circuit, b, gates),
        statuses: { 'big-qpu': online(0, { supportedGates: ['cz', 'rx'] }) },
      },
    );
    expect(reasonOf(lacking, 'big-qpu')).toBe('the device lacks rz, ry, cnot, which translation needs');
    expect(reasonOf(lacking, 'cheap-qpu')).toBeUndefined();
    // Bell in h and cx is not in any IBM ISA: transpiled, it runs; an IBM device of unknown gates cannot be compiled for.
    const ibm = (circuit: typeof bell.circuit, extra: Partial<BackendEntry>) =>
      circuitProblem(circuit, backend('ibm-qpu', 'ibm_quantum', 5, '$0', extra));
    const heronPiece = {
      supportedGates: ['cz', 'rz', 'sx', 'x'],
      connectivity: [
        [0, 1],
        [1, 2],
      ],
    } as const;
    expect(ibm(bell.circuit, heronPiece)).toBeUndefined();
    expect(ibm(measuredTwice.circuit, heronPiece)).toMatch(/ibm-qpu runs only circuits whose measurements come last/);
  });
});

describe('selection: preferences, pins and fallback', () => {
  const twins = [backend('twin-b', 'aws_braket', 25), backend('twin-a', 'aws_braket', 25)];
  it('preferred backends win ties in their order, else names break them', () => {
    const tie = (preferredBackends: string[]) =>
      selectBackend({
        spec: { circuit: { source: 'inline', code: '' }, backendSelection: { preferredBackends } },
        metadata: bell.metadata,
        shots: 10,
        backends: twins,
        availableTypes: ALL,
      }).backend.name;
    expect(tie([])).toBe('twin-a');
    expect(tie(['twin-b', 'twin-a'])).toBe('twin-b');
    expect(tie(['nonexistent', 'twin-a'])).toBe('twin-a');
  });

  it('a pin wins over every weight', () => {
    expect(select({ backend: { name: 'big-qpu' }, backendSelection: { weights: { cost: 1 } } }).backend.name).toBe(
      'big-qpu',
    );
  });

  it('falls back to the local simulator when nothing fits and the job allows it, recording the original choice', () => {
    const selection = select(
      { backend: { name: 'big-qpu' }, backendSelection: { fallbackToSimulator: true } },
      { statuses: { 'big-qpu': { status: { online: false } } } },
    );
    expect(selection).toMatchObject({ fallbackUsed: true, originalBackend: 'big-qpu' });
    expect(selection.backend.name).toBe('local-simulator');
  });

  it('does not fall back when execution.disableFallback is set, or when the job did not ask', () => {
    const offline = { statuses: { 'big-qpu': { status: { online: false } } as StatusReading } };
    for (const spec of [
      {
        backend: { name: 'big-qpu' },
        backendSelection: { fallbackToSimulator: true },
        execution: { disableFallback: true },
      },
      { backend: { name: 'big-qpu' } },
    ] as Partial<QiskitJobSpec>[]) {
      expect(() => select(spec, offline)).toThrow(InvalidInputError);
      expect(() => select(spec, offline)).toThrow(/big-qpu: offline/);
    }
  });
});

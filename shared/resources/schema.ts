/**
 * The one definition of qpipe's custom resources. The TypeScript types, the runtime
 * validation of manifests and event data, and the CRDs under infra/crds/ all come from
 * these TypeBox schemas (which are JSON Schema), so a shape is never described twice.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { DEFAULT_SHOTS, MAX_SHOTS } from '../limits.ts';
import { MONEY_PATTERN } from '../money.ts';

export { MONEY_PATTERN };

/** API group of every qpipe resource. */
export const GROUP = 'quantum.io';
/** API version served and stored. */
export const VERSION = 'v1';
/** The `apiVersion` every manifest must carry. */
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A duration such as "90s", "15m", "1h30m" or "2d". */
export const DURATION_PATTERN = String.raw`^(\d+(ms|s|m|h|d))+$`;
const EMAIL_PATTERN = String.raw`^[^\s@<>,;:"\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`;
const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const DNS_SUBDOMAIN_PATTERN = String.raw`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`;

/** A dollar amount (parsed to micro-dollars by shared/money). */
export const money = (description: string) => Type.String({ pattern: MONEY_PATTERN, description });
const duration = (description: string) => Type.String({ pattern: DURATION_PATTERN, description });
const timestamp = (description: string) => Type.String({ format: 'date-time', description });

/** Backend kinds, as QiskitOperator users already write them in `backend.type`. */
export const BackendType = {
  LocalSimulator: 'local_simulator',
  AwsBraket: 'aws_braket',
  IbmQuantum: 'ibm_quantum',
  IbmSimulator: 'ibm_simulator',
} as const;
export type BackendType = (typeof BackendType)[keyof typeof BackendType];
/** Schema of a backend type, shared by resources and events. */
export const BackendTypeSchema = Type.Union(
  Object.values(BackendType).map((value) => Type.Literal(value)),
  { description: 'Provider kind: local_simulator, aws_braket, ibm_quantum or ibm_simulator.' },
);

/** Job lifecycle phases, in the only order a job may move through them. */
export const JOB_PHASES = [
  'Pending',
  'Validated',
  'Scheduled',
  'AwaitingBudget',
  'Approved',
  'Submitted',
  'Running',
  'Succeeded',
  'Failed',
  'Rejected',
] as const;
export type JobPhase = (typeof JOB_PHASES)[number];
/** Phases a job never leaves. */
export const TERMINAL_PHASES: readonly JobPhase[] = ['Succeeded', 'Failed', 'Rejected'];

const stringEnum = <const T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((value) => Type.Literal(value)),
    { description },
  );

const metadataSchema = Type.Object(
  {
    name: Type.String({ pattern: DNS_SUBDOMAIN_PATTERN, maxLength: 253, description: 'Resource name.' }),
    namespace: Type.Optional(
      Type.String({ pattern: DNS_LABEL_PATTERN, maxLength: 63, description: 'Namespace; "default" when absent.' }),
    ),
    uid: Type.Optional(Type.String()),
    generation: Type.Optional(Type.Integer({ minimum: 0 })),
    resourceVersion: Type.Optional(Type.String()),
    creationTimestamp: Type.Optional(Type.String()),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: true },
);

const conditionSchema = Type.Object({
  type: Type.String({ description: 'Condition type, e.g. Validated or Completed.' }),
  status: stringEnum(['True', 'False', 'Unknown'], 'True, False or Unknown.'),
  reason: Type.String({ description: 'One-word reason in CamelCase.' }),
  message: Type.String({ description: 'Human-readable detail.' }),
  lastTransitionTime: timestamp('When the status last changed.'),
  observedGeneration: Type.Optional(Type.Integer({ description: 'Generation the condition was set for.' })),
});
export type Condition = Static<typeof conditionSchema>;

/** Facts about a circuit found by validation, as written to job status. */
export const CircuitMetadata = Type.Object(
  {
    format: stringEnum(['qasm2', 'qasm3'], 'OpenQASM version of the source.'),
    qubits: Type.Integer({ description: 'Qubits used.' }),
    clbits: Type.Integer({ description: 'Classical bits declared.' }),
    depth: Type.Integer({ description: 'Circuit depth as Qiskit counts it (barriers excluded).' }),
    gateCount: Type.Integer({ description: 'Gates after unrolling (measure, reset and barrier excluded).' }),
    gateCounts: Type.Record(Type.String(), Type.Integer(), { description: 'Operations by name.' }),
    twoQubitGates: Type.Integer({ description: 'Gates acting on exactly two qubits.' }),
    measurements: Type.Integer({ description: 'Measurement operations.' }),
    midCircuitMeasurement: Type.Boolean({ description: 'A measured qubit is acted on again afterwards.' }),
    classicalControl: Type.Boolean({ description: 'Some operation is conditioned on a classical value.' }),
    hash: Type.String({ description: 'Stable SHA-256 of the canonical circuit.' }),
  },
  { description: 'Facts about the circuit found by validation.' },
);
export type CircuitMetadata = Static<typeof CircuitMetadata>;

export const Candidate = Type.Object({
  backend: Type.String({ description: 'Backend name.' }),
  eligible: Type.Boolean({ description: 'Whether the backend met every hard constraint.' }),
  reason: Type.Optional(Type.String({ description: 'Why it was excluded.' })),
  score: Type.Number({ description: 'Weighted score in [0, 1]; higher wins.' }),
  scores: Type.Record(Type.String(), Type.Number(), { description: 'Score per weight.' }),
  estimatedCost: money('Worst-case cost on this backend.'),
  queueDepth: Type.Optional(Type.Integer({ minimum: 0, description: 'Tasks queued on the device when selected.' })),
});
/** One backend considered by selection, with why it was or was not chosen. */
export type Candidate = Static<typeof Candidate>;

/**
 * The field each circuit source needs. The CRD's CEL rules and the local validator are
 * both derived from this table.
 */
export const CIRCUIT_SOURCE_FIELD = { inline: 'code', configmap: 'configMapRef', url: 'url' } as const;

/** The QiskitJob spec: field names kept from QiskitOperator. */
export const QiskitJobSpec = Type.Object(
  {
    backend: Type.Optional(
      Type.Object(
        {
          type: Type.Optional(BackendTypeSchema),
          name: Type.Optional(Type.String({ minLength: 1, description: 'Pins a device by name.' })),
        },
        { additionalProperties: false, description: 'Where to run; omitted for automatic selection.' },
      ),
    ),
    circuit: Type.Object(
      {
        source: stringEnum(['inline', 'configmap', 'url'], 'Where the circuit comes from.'),
        format: Type.Optional(stringEnum(['qasm2', 'qasm3'], 'OpenQASM version; detected when absent.')),
        code: Type.Optional(Type.String({ description: 'OpenQASM source, with source: inline.' })),
        configMapRef: Type.Optional(
          Type.Object(
            {
              name: Type.String({ minLength: 1, description: 'ConfigMap name.' }),
              key: Type.String({ minLength: 1, description: 'Key holding the OpenQASM source.' }),
            },
            { additionalProperties: false, description: 'ConfigMap holding the circuit, with source: configmap.' },
          ),
        ),
        url: Type.Optional(Type.String({ minLength: 1, description: 'URL of the circuit, with source: url.' })),
      },
      {
        additionalProperties: false,
        description: 'The OpenQASM 2 or 3 circuit to run.',
        'x-kubernetes-validations': Object.entries(CIRCUIT_SOURCE_FIELD).map(([source, field]) => ({
          rule: `self.source != '${source}' || has(self.${field})`,
          message: `${field} is required when source is ${source}`,
        })),
      },
    ),
    execution: Type.Optional(
      Type.Object(
        {
          shots: Type.Integer({ minimum: 1, maximum: MAX_SHOTS, default: DEFAULT_SHOTS, description: 'Shots to run.' }),
          optimizationLevel: Type.Optional(
            Type.Integer({ minimum: 0, maximum: 3, description: 'Transpiler optimisation level.' }),
          ),
          priority: Type.Optional(stringEnum(['low', 'normal', 'high'], 'Scheduling priority.')),
          disableFallback: Type.Optional(Type.Boolean({ description: 'Never fall back to the simulator.' })),
          seedSimulator: Type.Optional(
            Type.Integer({ minimum: 0, description: 'Seed for simulator sampling, for repeatable counts.' }),
          ),
        },
        { additionalProperties: false, description: 'How to run the circuit.' },
      ),
    ),
    session: Type.Optional(
      Type.String({
        pattern: DNS_SUBDOMAIN_PATTERN,
        maxLength: 253,
        description:
          "A QiskitSession in the job's namespace: the job runs inside that IBM session, on its backend, charged to its budget.",
      }),
    ),
    budget: Type.Optional(
      Type.Object(
        {
          maxCost: Type.Optional(money('Most this job may cost, e.g. "$5.00".')),
          budgetRef: Type.Optional(Type.String({ minLength: 1, description: 'QiskitBudget to charge.' })),
        },
        { additionalProperties: false, description: 'Cost limits for this job.' },
      ),
    ),
    backendSelection: Type.Optional(
      Type.Object(
        {
          weights: Type.Optional(
            Type.Object(
              {
                cost: Type.Optional(Type.Number({ minimum: 0, description: 'Weight of low cost.' })),
                queueTime: Type.Optional(Type.Number({ minimum: 0, description: 'Weight of short queues.' })),
                capability: Type.Optional(Type.Number({ minimum: 0, description: 'Weight of device capability.' })),
                availability: Type.Optional(Type.Number({ minimum: 0, description: 'Weight of being online.' })),
              },
              { additionalProperties: false, description: 'Selection weights, normalised to sum 1.' },
            ),
          ),
          preferredBackends: Type.Optional(
            Type.Array(Type.String(), { description: 'Backends that win ties, in order.' }),
          ),
          excludedBackends: Type.Optional(Type.Array(Type.String(), { description: 'Backends never chosen.' })),
          fallbackToSimulator: Type.Optional(
            Type.Boolean({ description: 'Use the local simulator when nothing else fits.' }),
          ),
          requirements: Type.Optional(
            Type.Object(
              {
                minQubits: Type.Optional(Type.Integer({ minimum: 1, description: 'Least qubits the device needs.' })),
                maxQueueTime: Type.Optional(duration('Longest acceptable queue wait, e.g. "30m".')),
                maxCost: Type.Optional(money('Most a chosen backend may cost.')),
              },
              { additionalProperties: false, description: 'Hard constraints on candidates.' },
            ),
          ),
        },
        { additionalProperties: false, description: 'Automatic backend selection.' },
      ),
    ),
    output: Type.Optional(
      Type.Object(
        {
          type: stringEnum(['s3', 'configmap', 'local'], 'Where results are written.'),
          location: Type.Optional(Type.String({ description: 'Bucket, ConfigMap or folder.' })),
          path: Type.Optional(
            Type.String({ description: 'Key prefix of the result, under outputs/<namespace>/ of the store.' }),
          ),
          format: Type.Optional(stringEnum(['json', 'csv'], 'Result document format.')),
        },
        { additionalProperties: false, description: 'Where the result document goes.' },
      ),
    ),
  },
  { additionalProperties: false, description: 'What to run, where, and within which limits.' },
);
export type QiskitJobSpec = Static<typeof QiskitJobSpec>;

/** The QiskitJob status, written only by collect-results. */
export const QiskitJobStatus = Type.Object(
  {
    phase: Type.Optional(stringEnum(JOB_PHASES, 'Lifecycle phase; only moves forward.')),
    conditions: Type.Optional(
      Type.Array(conditionSchema, { description: 'Validated, BackendSelected, BudgetApproved, ..., Completed.' }),
    ),
    observedGeneration: Type.Optional(Type.Integer({ description: 'Generation this status describes.' })),
    circuitMetadata: Type.Optional(CircuitMetadata),
    selectedBackend: Type.Optional(Type.String({ description: 'Backend the job runs on.' })),
    candidates: Type.Optional(Type.Array(Candidate, { description: 'Backends considered by selection.' })),
    fallbackUsed: Type.Optional(Type.Boolean({ description: 'The simulator was used as a fallback.' })),
    originalBackend: Type.Optional(Type.String({ description: 'Backend requested before fallback.' })),
    estimatedCost: Type.Optional(money('Worst-case cost reserved against the budget.')),
    actualCost: Type.Optional(money('Cost charged.')),
    providerTaskId: Type.Optional(Type.String({ description: 'Provider task or job id.' })),
    results: Type.Optional(
      Type.Object(
        {
          location: Type.String({ description: 'Where the result document is stored.' }),
          shots: Type.Integer({ description: 'Shots run.' }),
          counts: Type.Record(Type.String(), Type.Integer(), {
            description: 'Counts by classical bit string (bit 0 rightmost).',
          }),
          hellingerFidelity: Type.Optional(
            Type.Number({
              description:
                "A device's result against the circuit's ideal distribution: 1 is ideal (Qiskit's hellinger_fidelity).",
            }),
          ),
          totalVariationDistance: Type.Optional(
            Type.Number({ description: 'Half the L1 distance from the ideal distribution: 0 is ideal.' }),
          ),
        },
        { description: 'Summary of the result.' },
      ),
    ),
    startTime: Type.Optional(timestamp('When the pipeline started the job.')),
    completionTime: Type.Optional(timestamp('When the job reached a final phase.')),
    message: Type.Optional(Type.String({ description: 'Latest human-readable message.' })),
  },
  { description: 'Observed state, written by qpipe.' },
);
export type QiskitJobStatus = Static<typeof QiskitJobStatus>;

/** Budget periods; calendar periods are UTC. */
export const BUDGET_PERIODS = ['daily', 'weekly', 'monthly', 'total'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** The QiskitBudget spec. */
export const QiskitBudgetSpec = Type.Object(
  {
    limit: money('Spending limit per period, e.g. "$10,000.00".'),
    period: stringEnum(BUDGET_PERIODS, 'Budget period (UTC calendar), or total.'),
    alertThresholds: Type.Array(Type.Integer({ minimum: 1, maximum: 1000 }), {
      default: [50, 75, 90, 100],
      description: 'Percent of the limit at which an alert is sent, once per period.',
    }),
    notificationEmail: Type.Optional(
      Type.String({ pattern: EMAIL_PATTERN, maxLength: 254, description: 'Where alerts are emailed.' }),
    ),
    enforcement: Type.Optional(
      Type.Object(
        {
          blockOnExceed: Type.Boolean({ default: true, description: 'Hold jobs that would exceed the limit.' }),
          gracePeriod: Type.Optional(duration('How long a held job waits for budget, e.g. "1h".')),
        },
        { additionalProperties: false, description: 'What happens when a job would exceed the limit.' },
      ),
    ),
  },
  { additionalProperties: false, description: 'A spending limit for the jobs of a namespace.' },
);
export type QiskitBudgetSpec = Static<typeof QiskitBudgetSpec>;

/** The QiskitBudget status. */
export const QiskitBudgetStatus = Type.Object(
  {
    phase: Type.Optional(stringEnum(['Active', 'Exceeded'], 'Exceeded once spent reaches the limit.')),
    spent: Type.Optional(money('Settled spending this period.')),
    reserved: Type.Optional(money('Reserved by approved, unfinished jobs.')),
    remaining: Type.Optional(money('Limit less spent and reserved.')),
    periodStart: Type.Optional(timestamp('Start of the current period.')),
    notifiedThresholds: Type.Optional(Type.Array(Type.Integer(), { description: 'Thresholds already alerted.' })),
    reservations: Type.Optional(
      Type.Array(
        Type.Object({
          job: Type.String({ description: 'The job, as namespace/name.' }),
          amount: money('Reserved for it.'),
          expiresAt: Type.Optional(timestamp('When it is reclaimed unless the job ends first.')),
        }),
        { description: 'What is reserved, by which job.' },
      ),
    ),
  },
  { description: 'Observed spending, written by qpipe.' },
);
export type QiskitBudgetStatus = Static<typeof QiskitBudgetStatus>;

/** The QiskitBackend spec: adds or overrides a backend catalog entry. */
export const QiskitBackendSpec = Type.Object(
  {
    provider: BackendTypeSchema,
    deviceId: Type.Optional(Type.String({ description: 'Provider device id: a Braket ARN or an IBM name.' })),
    region: Type.Optional(Type.String({ description: 'Provider region.' })),
    qubits: Type.Optional(Type.Integer({ minimum: 1, description: 'Qubits on the device.' })),
    supportedGates: Type.Optional(Type.Array(Type.String(), { description: 'Native gate names.' })),
    connectivity: Type.Optional(
      Type.Array(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 2, maxItems: 2 }), {
        description: 'Coupled qubit pairs, when known.',
      }),
    ),
    pricing: Type.Optional(
      Type.Object(
        {
          perTask: Type.Optional(money('Fee per task.')),
          perShot: Type.Optional(money('Fee per shot.')),
          perMinute: Type.Optional(money('Fee per minute of run time.')),
          perSecond: Type.Optional(money('Fee per second of run time.')),
          minimumSeconds: Type.Optional(Type.Integer({ minimum: 0, description: 'Least billed seconds.' })),
        },
        { additionalProperties: false, description: 'Prices that override the catalog.' },
      ),
    ),
    enabled: Type.Boolean({ default: true, description: 'Whether selection may choose it.' }),
  },
  { additionalProperties: false, description: 'A device qpipe may run jobs on.' },
);
export type QiskitBackendSpec = Static<typeof QiskitBackendSpec>;

/** The QiskitSession spec: jobs that share one provider session. */
export const QiskitSessionSpec = Type.Object(
  {
    backend: Type.Object(
      {
        type: BackendTypeSchema,
        name: Type.Optional(Type.String({ description: 'Device name.' })),
      },
      { additionalProperties: false, description: 'Backend the session runs on.' },
    ),
    maxTime: Type.Optional(duration('Longest the session stays open, e.g. "8h" (IBM\'s default and most: 8h).')),
    mode: Type.Optional(
      stringEnum(['dedicated', 'batch'], 'IBM execution mode: dedicated (default) holds the device between jobs.'),
    ),
    budgetRef: Type.Optional(Type.String({ description: 'QiskitBudget charged for the jobs run in the session.' })),
  },
  { additionalProperties: false, description: 'A provider session shared by several jobs.' },
);
export type QiskitSessionSpec = Static<typeof QiskitSessionSpec>;

export const QiskitSessionStatus = Type.Object(
  {
    phase: Type.Optional(stringEnum(['Pending', 'Open', 'Closed'], 'Session phase.')),
    sessionId: Type.Optional(Type.String({ description: 'Provider session id.' })),
    openedAt: Type.Optional(timestamp('When the provider session opened.')),
    closesAt: Type.Optional(timestamp('When maxTime ends it.')),
    message: Type.Optional(Type.String()),
  },
  { description: 'Observed session state.' },
);
const backendStatusSchema = Type.Object(
  {
    online: Type.Optional(Type.Boolean({ description: 'Last known availability.' })),
    queueLength: Type.Optional(Type.Integer({ description: 'Last known queue length.' })),
    lastChecked: Type.Optional(timestamp('When the provider was last asked.')),
  },
  { description: 'Observed device state.' },
);

function resource<Kind extends string, Spec extends TSchema, Status extends TSchema>(
  kind: Kind,
  spec: Spec,
  status: Status,
) {
  return Type.Object(
    {
      apiVersion: Type.Literal(API_VERSION, { description: `Always ${API_VERSION}.` }),
      kind: Type.Literal(kind, { description: `Always ${kind}.` }),
      metadata: metadataSchema,
      spec,
      status: Type.Optional(status),
    },
    { additionalProperties: false },
  );
}

/** A whole QiskitJob object. */
export const QiskitJob = resource('QiskitJob', QiskitJobSpec, QiskitJobStatus);
export type QiskitJob = Static<typeof QiskitJob>;
/** A whole QiskitBudget object. */
export const QiskitBudget = resource('QiskitBudget', QiskitBudgetSpec, QiskitBudgetStatus);
export type QiskitBudget = Static<typeof QiskitBudget>;
/** A whole QiskitBackend object. */
export const QiskitBackend = resource('QiskitBackend', QiskitBackendSpec, backendStatusSchema);
export type QiskitBackend = Static<typeof QiskitBackend>;
/** A whole QiskitSession object. */
export const QiskitSession = resource('QiskitSession', QiskitSessionSpec, QiskitSessionStatus);
export type QiskitSessionStatus = Static<typeof QiskitSessionStatus>;
export type QiskitSession = Static<typeof QiskitSession>;

/** A printer column of `kubectl get`. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date';
  readonly jsonPath: string;
  readonly description: string;
}

/** Everything the CRD generator needs for one kind. */
export interface ResourceDefinition {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly schema: TSchema;
  readonly printerColumns: readonly PrinterColumn[];
  readonly description: string;
}

const age: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since creation.',
};

/** The four resource kinds, with their names and `kubectl get` columns. */
export const RESOURCES = {
  QiskitJob: {
    kind: 'QiskitJob',
    plural: 'qiskitjobs',
    singular: 'qiskitjob',
    shortNames: ['qj'],
    schema: QiskitJob,
    description: 'A quantum circuit to run through the qpipe pipeline.',
    printerColumns: [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Lifecycle phase.' },
      { name: 'Backend', type: 'string', jsonPath: '.status.selectedBackend', description: 'Chosen backend.' },
      { name: 'Cost', type: 'string', jsonPath: '.status.actualCost', description: 'Actual cost.' },
      age,
    ],
  },
  QiskitBudget: {
    kind: 'QiskitBudget',
    plural: 'qiskitbudgets',
    singular: 'qiskitbudget',
    shortNames: ['qbud'],
    schema: QiskitBudget,
    description: 'A spending limit for quantum jobs in a namespace.',
    printerColumns: [
      { name: 'Spent', type: 'string', jsonPath: '.status.spent', description: 'Spent this period.' },
      { name: 'Limit', type: 'string', jsonPath: '.spec.limit', description: 'Limit per period.' },
      { name: 'Period', type: 'string', jsonPath: '.spec.period', description: 'Budget period.' },
      age,
    ],
  },
  QiskitBackend: {
    kind: 'QiskitBackend',
    plural: 'qiskitbackends',
    singular: 'qiskitbackend',
    shortNames: ['qbe'],
    schema: QiskitBackend,
    description: 'A quantum device or simulator jobs may run on.',
    printerColumns: [
      { name: 'Provider', type: 'string', jsonPath: '.spec.provider', description: 'Provider kind.' },
      { name: 'Qubits', type: 'integer', jsonPath: '.spec.qubits', description: 'Qubits.' },
      age,
    ],
  },
  QiskitSession: {
    kind: 'QiskitSession',
    plural: 'qiskitsessions',
    singular: 'qiskitsession',
    shortNames: ['qses'],
    schema: QiskitSession,
    description: 'A provider session shared by several jobs.',
    printerColumns: [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Session phase.' },
      { name: 'Session', type: 'string', jsonPath: '.status.sessionId', description: 'Provider session id.' },
      age,
    ],
  },
} as const satisfies Record<string, ResourceDefinition>;
export type ResourceKind = keyof typeof RESOURCES;

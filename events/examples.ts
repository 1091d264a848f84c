/**
 * One example event of every catalog type, built through the same code stages use. Tests
 * check each against its schema; the README's event catalog shows them.
 */
import type { CloudEvent } from 'cloudevents';
import { buildEvent, buildJobEvent } from './envelope.ts';
import type { CircuitRef, EventData, JobRef, ScheduledBackend } from './schemas.ts';
import { EventType, type EventType as EventTypeName } from './types.ts';

const job: JobRef = {
  namespace: 'quantum-research',
  name: 'bell',
  uid: '6f1c2a4e-0b1d-4c53-9d6a-2f2f5b8a1e77',
  generation: 1,
};
const code = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n';
const spec = { circuit: { source: 'inline' as const }, execution: { shots: 1024 } };
const circuit: CircuitRef = {
  format: 'qasm2',
  hash: 'sha256:9a1b3c0d7e4f6a8b2c5d1e0f3a6b9c2d5e8f1a4b7c0d3e6f9a2b5c8d1e4f7a0b',
  bytes: code.length,
  code,
};
const backend: ScheduledBackend = { name: 'local-simulator', type: 'local_simulator', fallbackUsed: false };
const estimate = { totalMicros: 0, breakdown: [] };
const budget = { namespace: 'quantum-research', name: 'monthly', period: '2026-11' };
const time = new Date('2026-11-26T10:00:00Z');
const manifest = {
  apiVersion: 'quantum.io/v1',
  kind: 'QiskitJob',
  metadata: { name: job.name, namespace: job.namespace, uid: job.uid, generation: 1 },
  spec: { circuit: { source: 'inline', code }, execution: { shots: 1024 } },
};
const metadata = {
  format: 'qasm2' as const,
  qubits: 2,
  clbits: 2,
  depth: 3,
  gateCount: 2,
  gateCounts: { h: 1, cx: 1, measure: 2 },
  twoQubitGates: 1,
  measurements: 2,
  midCircuitMeasurement: false,
  classicalControl: false,
  hash: circuit.hash,
};

const taskArn = 'arn:aws:braket:us-east-1:123456789012:quantum-task/5f1d7c1e-8b2a-4d3c-9e6f-1a2b3c4d5e6f';
const submitted: EventData<typeof EventType.JobSubmitted> = {
  job,
  spec,
  circuit,
  backend: { name: 'braket-sv1', type: 'aws_braket', fallbackUsed: false },
  taskId: taskArn,
  budget,
};

function jobEvent<T extends EventTypeName>(type: T, data: EventData<T>, source: string): CloudEvent<unknown> {
  return buildJobEvent(type, data, job, { source, time });
}

/** An example of each event type. */
export const EXAMPLE_EVENTS: Readonly<Record<EventTypeName, CloudEvent<unknown>>> = {
  [EventType.JobRequested]: buildEvent(
    EventType.JobRequested,
    { job: manifest },
    { source: '/qpipe/cli', subject: 'quantum-research/bell', time },
  ),
  [EventType.ResourceAdded]: buildEvent(EventType.ResourceAdded, manifest, {
    source: 'https://kubernetes.default.svc',
    subject: '/apis/quantum.io/v1/namespaces/quantum-research/qiskitjobs/bell',
    time,
  }),
  [EventType.ResourceUpdated]: buildEvent(
    EventType.ResourceUpdated,
    { ...manifest, metadata: { ...manifest.metadata, generation: 2 } },
    { source: 'https://kubernetes.default.svc', time },
  ),
  [EventType.ResourceDeleted]: buildEvent(EventType.ResourceDeleted, manifest, {
    source: 'https://kubernetes.default.svc',
    time,
  }),
  [EventType.JobValidated]: jobEvent(
    EventType.JobValidated,
    { job, spec, circuit, metadata, startTime: time.toISOString() },
    '/qpipe/validate',
  ),
  [EventType.JobScheduled]: jobEvent(
    EventType.JobScheduled,
    {
      job,
      spec,
      circuit,
      backend,
      candidates: [
        {
          backend: 'local-simulator',
          eligible: true,
          score: 1,
          scores: { cost: 1, queueTime: 1, capability: 1, availability: 1 },
          estimatedCost: '$0.00',
        },
      ],
      estimate,
    },
    '/qpipe/select-backend',
  ),
  [EventType.JobHeld]: jobEvent(
    EventType.JobHeld,
    {
      job,
      spec,
      circuit,
      backend,
      estimate,
      budget,
      reason:
        'budget quantum-research/monthly (2026-11) cannot cover this job: estimated $2,600.00, spent $7,512.40, reserved $0.00, limit $10,000.00, available $2,487.60',
      heldSince: time.toISOString(),
      deadline: new Date(time.getTime() + 3_600_000).toISOString(),
    },
    '/qpipe/enforce-budget',
  ),
  [EventType.JobApproved]: jobEvent(
    EventType.JobApproved,
    { job, spec, circuit, backend, estimate, budget },
    '/qpipe/enforce-budget',
  ),
  [EventType.JobSubmitted]: jobEvent(EventType.JobSubmitted, submitted, '/qpipe/execute'),
  [EventType.JobPoll]: jobEvent(
    EventType.JobPoll,
    { ...submitted, attempt: 2, since: time.toISOString() },
    '/qpipe/collect-results',
  ),
  [EventType.JobCancel]: buildEvent(
    EventType.JobCancel,
    { job: { namespace: job.namespace, name: job.name }, reason: 'cancelled by ci@example.com: wrong circuit' },
    { source: '/qpipe/cancel', subject: `${job.namespace}/${job.name}`, time },
  ),
  // As Braket sends it on the default bus: https://docs.aws.amazon.com/braket/latest/developerguide/braket-monitor-eventbridge.html
  [EventType.BraketTaskStateChange]: buildEvent(
    EventType.BraketTaskStateChange,
    {
      quantumTaskArn: taskArn,
      status: 'COMPLETED',
      deviceArn: 'arn:aws:braket:::device/quantum-simulator/amazon/sv1',
      shots: '1024',
      outputS3Bucket: 'amazon-braket-us-east-1-123456789012',
      outputS3Directory: 'braket/quantum-research/bell/5f1d7c1e-8b2a-4d3c-9e6f-1a2b3c4d5e6f',
      createdAt: '2026-11-26T10:00:01.000Z',
      endedAt: '2026-11-26T10:00:04.000Z',
      eventName: 'MODIFY',
    },
    { source: 'aws.braket', time },
  ),
  [EventType.JobExecuted]: jobEvent(
    EventType.JobExecuted,
    {
      job,
      spec,
      circuit,
      backend,
      resultRef: `runs/quantum-research/bell/${job.uid}-1/raw.json`,
      actualCostMicros: 0,
      budget,
    },
    '/qpipe/execute',
  ),
  [EventType.JobCompleted]: jobEvent(
    EventType.JobCompleted,
    {
      job,
      backend: 'local-simulator',
      result: {
        location: `s3://qpipe-results/runs/quantum-research/bell/${job.uid}-1/result.json`,
        shots: 1024,
        counts: { '00': 515, '11': 509 },
        truncated: false,
      },
      actualCostMicros: 0,
      budget,
    },
    '/qpipe/collect-results',
  ),
  [EventType.JobFailed]: jobEvent(
    EventType.JobFailed,
    { job, stage: 'execute', reason: 'the device went offline', budget },
    '/qpipe/execute',
  ),
  [EventType.JobRejected]: jobEvent(
    EventType.JobRejected,
    {
      job,
      stage: 'validate',
      reason: 'spec.execution.shots: must be at least 1 (got 0)',
      problems: [{ path: 'spec.execution.shots', message: 'must be at least 1 (got 0)' }],
    },
    '/qpipe/validate',
  ),
  [EventType.BudgetExpiry]: buildEvent(
    EventType.BudgetExpiry,
    { budget, job, expiresAt: new Date(time.getTime() + 7_200_000).toISOString() },
    {
      source: '/qpipe/enforce-budget',
      subject: 'quantum-research/bell',
      time,
      notbefore: new Date(time.getTime() + 7_201_000).toISOString(),
    },
  ),
  [EventType.BudgetThreshold]: buildEvent(
    EventType.BudgetThreshold,
    {
      budget,
      threshold: 75,
      spent: '$7,512.40',
      limit: '$10,000.00',
      notificationEmail: 'quantum-budget@example.com',
      topJobs: [{ job: 'quantum-research/vqe-sweep', cost: '$4,100.00' }],
    },
    { source: '/qpipe/enforce-budget', subject: 'quantum-research/monthly', time },
  ),
  [EventType.BudgetExceeded]: buildEvent(
    EventType.BudgetExceeded,
    {
      budget,
      job,
      estimate: '$2,600.00',
      spent: '$7,512.40',
      reserved: '$0.00',
      limit: '$10,000.00',
      blocked: true,
      notificationEmail: 'quantum-budget@example.com',
    },
    { source: '/qpipe/enforce-budget', subject: 'quantum-research/bell', time },
  ),
};

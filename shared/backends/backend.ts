/** The quantum-backend port: catalog entries, and executors that run circuits on them. */
import type { CircuitLimits } from '../qasm/limits.ts';
import type { JobRef } from '../../events/schemas.ts';
import type { Pricing } from '../pricing/pricing.ts';
import type { Circuit } from '../qasm/circuit.ts';
import type { BackendType, CircuitMetadata } from '../resources/schema.ts';
import type { MeasurementLayout } from './measurement-layout.ts';

/** A device or simulator selection can choose. */
export interface BackendEntry {
  readonly name: string;
  readonly type: BackendType;
  readonly deviceId?: string;
  readonly qubits: number;
  readonly pricing: Pricing;
  readonly enabled: boolean;
  /** Where the entry came from: the built-in catalog or a QiskitBackend resource. */
  readonly origin: 'builtin' | 'resource';
  readonly region?: string;
  /** Gate names the device takes (Braket's OpenQASM names, IBM's basis gates), when known. */
  readonly supportedGates?: readonly string[];
  /** Coupled physical qubit pairs, when known. */
  readonly connectivity?: readonly (readonly [number, number])[];
}

/** What a provider says of a device now (cached briefly by the caller). */
export interface DeviceStatus {
  readonly online: boolean;
  /** Tasks waiting ahead of a new one. */
  readonly queueDepth?: number;
  readonly qubits?: number;
  readonly supportedGates?: readonly string[];
  readonly shotsRange?: readonly [number, number];
  /** The provider's own words, when the device is not online. */
  readonly detail?: string;
}

/** A task a provider runs: what collection needs to find it and read its result. */
export interface ProviderTask {
  readonly taskId: string;
  readonly backend: BackendEntry;
  readonly layout: MeasurementLayout;
  readonly shots: number;
  /** The provider's state of the task when qpipe asked to cancel it, when it did. */
  readonly cancelledWhile?: string;
}

/** Where a provider task stands. */
export type TaskState =
  | { readonly kind: 'pending'; readonly status: string }
  | {
      readonly kind: 'completed';
      readonly counts: Record<string, number>;
      readonly shots: number;
      readonly durationMs: number;
      readonly billedSeconds: number;
    }
  | { readonly kind: 'failed'; readonly reason: string }
  /** Cancelled; what the provider still bills for it (shots run, seconds used). */
  | {
      readonly kind: 'cancelled';
      readonly reason: string;
      readonly billedShots: number;
      readonly billedSeconds: number;
    };

/** What an executor needs to run one job. */
export interface ExecutionRequest {
  readonly job: JobRef;
  /** The compiled circuit (compiled when first read). */
  readonly circuit: Circuit;
  /** Its source and the limits it compiles under: the built-in simulator may compile it on a worker instead. */
  readonly program?: { readonly source: string; readonly limits: CircuitLimits };
  readonly shots: number;
  readonly seed?: number;
  readonly backend: BackendEntry;
  /** How hard to transpile for devices that need it (spec.execution.optimizationLevel). */
  readonly optimizationLevel?: number;
  /** The provider session to run inside (a QiskitSession the job names), already open. */
  readonly sessionId?: string;
  /** Aborted when the runtime's time limit passes: stop the work. */
  readonly signal?: AbortSignal;
}

/** A run finished at once (simulator) or was handed to a provider that finishes later. */
export type ExecutionOutcome =
  | {
      readonly kind: 'completed';
      readonly counts: Record<string, number>;
      readonly shots: number;
      readonly durationMs: number;
      /** Seconds the provider bills for (run time for time-priced backends). */
      readonly billedSeconds: number;
      readonly note?: string;
    }
  | { readonly kind: 'submitted'; readonly taskId: string; readonly layout: MeasurementLayout };

/** Runs circuits on one kind of backend. */
export interface BackendExecutor {
  readonly type: BackendType;
  execute(request: ExecutionRequest): Promise<ExecutionOutcome>;
  /** Live facts about a device; absent for backends that are always there. */
  status?(backend: BackendEntry): Promise<DeviceStatus>;
  /** Where a submitted task stands; required of executors that submit. */
  collect?(task: ProviderTask): Promise<TaskState>;
  /**
   * Asks the provider to cancel a task; resolves to the task's state when asked, and whether
   * it asked (not for a task already ended or being cancelled). The job ends when collection
   * sees it cancelled.
   */
  cancel?(task: ProviderTask): Promise<{ readonly asked: boolean; readonly stateWhenAsked: string }>;
  /** Opens a provider session on the device; resolves to its id. Only providers with sessions (IBM). */
  openSession?(backend: BackendEntry, options: SessionOptions): Promise<string>;
  /** Closes a provider session; closing one already closed succeeds. */
  closeSession?(backend: BackendEntry, sessionId: string): Promise<void>;
  /**
   * Whether a provider session still takes jobs: one closed at the provider (in its
   * console, or when its own time ran out) does not, whatever qpipe's record says.
   */
  sessionAcceptsJobs?(backend: BackendEntry, sessionId: string): Promise<boolean>;
}

/** How a provider session runs. */
export interface SessionOptions {
  readonly mode: 'dedicated' | 'batch';
  /** Longest it stays open; the provider closes it then. */
  readonly maxTimeSeconds: number;
}

/**
 * Worst-case billable run time of a job, for time-priced backends.
 * - State-vector simulators (local, Braket SV1/DM1/TN1): one pass over 2^n amplitudes per
 *   gate at ~1 ns per amplitude, once per shot when the circuit must branch, padded 10x;
 *   Braket adds its 3 s minimum through the price's minimumSeconds.
 * - IBM Quantum: billed QPU time ≈ 2 s of overhead plus, per shot, a 250 µs repetition
 *   delay and ~1 µs per layer of depth (IBM documents usage as growing with shots and
 *   circuit depth: https://docs.quantum.ibm.com/guides/estimate-job-run-time).
 * - QPUs priced per task and shot: time is not billed.
 */
export function estimateRunSeconds(backend: BackendEntry, metadata: CircuitMetadata, shots: number): number {
  if (backend.type === 'ibm_quantum') return 2 + shots * (250e-6 + metadata.depth * 1e-6);
  const simulator =
    backend.type === 'local_simulator' || backend.pricing.perMinuteMicros > 0 || backend.type === 'ibm_simulator';
  if (!simulator) return 0;
  const passes = metadata.midCircuitMeasurement || metadata.classicalControl ? shots : 1;
  return 10 * metadata.gateCount * 2 ** Math.min(metadata.qubits, 40) * passes * 1e-9;
}

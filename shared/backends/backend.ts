/** The quantum-backend port: catalog entries, and executors that run circuits on them. */
import type { JobRef } from '../../events/schemas.ts';
import type { Pricing } from '../pricing/pricing.ts';
import type { Circuit } from '../qasm/circuit.ts';
import type { BackendType, CircuitMetadata } from '../resources/schema.ts';

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
}

/** What an executor needs to run one job. */
export interface ExecutionRequest {
  readonly job: JobRef;
  readonly circuit: Circuit;
  readonly shots: number;
  readonly seed?: number;
  readonly backend: BackendEntry;
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
  | { readonly kind: 'submitted'; readonly taskId: string };

/** Runs circuits on one kind of backend. */
export interface BackendExecutor {
  readonly type: BackendType;
  execute(request: ExecutionRequest): Promise<ExecutionOutcome>;
}

/** Worst-case run time of a job, used for time-priced estimates. */
export function estimateRunSeconds(backend: BackendEntry, metadata: CircuitMetadata, shots: number): number {
  if (backend.type === 'local_simulator') {
    // One pass over 2^n amplitudes per gate at ~1 ns per amplitude, once per shot when it
    // must branch; padded 10x for the worst case.
    const passes = metadata.midCircuitMeasurement || metadata.classicalControl ? shots : 1;
    return 10 * metadata.gateCount * 2 ** metadata.qubits * passes * 1e-9;
  }
  return 0;
}

/**
 * How much memory each stage gets, on Knative (the Services' limit, MiB) and on Lambda
 * (memorySize, MB), and what the simulator is told it may allocate: the one table the
 * manifests, the AWS template and (through QPIPE_SIMULATOR_MAX_MEMORY) validation use.
 * execute holds state vectors; the others are small and mostly wait on I/O. collect-results
 * bounds its own ideal-distribution check by its memory (functions/collect-results).
 */
import type { Stage } from '../events/types.ts';

export interface StageSize {
  /** Knative Service memory limit (and request), MiB. */
  readonly knativeMiB: number;
  /** Lambda memorySize, MB; absent for pieces that are not Lambdas. */
  readonly lambdaMB?: number;
}

export const SIZES: Record<Stage | 'timer' | 'dead-letters', StageSize> = {
  validate: { knativeMiB: 256, lambdaMB: 512 },
  'select-backend': { knativeMiB: 128, lambdaMB: 256 },
  'enforce-budget': { knativeMiB: 128, lambdaMB: 256 },
  execute: { knativeMiB: 4096, lambdaMB: 3008 },
  'collect-results': { knativeMiB: 256, lambdaMB: 512 },
  notify: { knativeMiB: 128, lambdaMB: 256 },
  timer: { knativeMiB: 128 },
  'dead-letters': { knativeMiB: 64 },
};

/**
 * The simulator's share of execute's memory: half, leaving the rest to Node, the fused-gate
 * buffers and the worker thread. execute refuses to start when told more than its memory holds.
 */
export function simulatorMaxMemory(executeMiB: number): string {
  const mib = Math.floor(executeMiB / 2);
  return mib % 1024 === 0 ? `${mib / 1024}GiB` : `${mib}MiB`;
}

/** A Kubernetes quantity for MiB. */
export function quantity(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
}

/** Result documents: what execute stores raw and what collect-results publishes. */
import type { JobRef } from '../events/schemas.ts';
import { estimateCost, type Pricing } from './pricing/pricing.ts';
import { getJson, type ObjectStore } from './storage/object-store.ts';
import type { ResultQuality } from './quality.ts';

/** The raw result of a finished run, stored by execute for collect-results. */
export interface RawResult {
  readonly counts: Record<string, number>;
  readonly shots: number;
  readonly durationMs: number;
  readonly billedSeconds: number;
  readonly actualCostMicros: number;
  readonly note?: string;
  /** The provider's task id, for runs a provider ran. */
  readonly taskId?: string;
}

/** Object-store key of a run's raw result, inside its run folder. */
export function rawResultKey(runFolder: string): string {
  return `${runFolder}/raw.json`;
}

/** A finished run as a backend reports it. */
export type FinishedRun = Omit<RawResult, 'actualCostMicros'>;

/**
 * Stores a finished run's raw result, priced, under its run folder. The first writer wins,
 * so duplicate deliveries (or a poll and a provider event together) all report the stored one.
 */
export async function storeRawResult(
  store: ObjectStore,
  key: string,
  run: FinishedRun,
  pricing: Pricing,
): Promise<RawResult> {
  const raw: RawResult = {
    ...run,
    actualCostMicros: estimateCost(pricing, { shots: run.shots, seconds: run.billedSeconds }).totalMicros,
  };
  await store.putIfAbsent(key, JSON.stringify(raw), 'application/json');
  return ((await getJson(store, key)) as RawResult | undefined) ?? raw;
}

/** The result document users read (JSON), one per run. */
export interface ResultDocument {
  readonly job: JobRef;
  readonly backend: string;
  readonly taskId?: string;
  readonly shots: number;
  /** Counts by classical bit string, Qiskit's order (bit 0 rightmost, registers separated by spaces). */
  readonly counts: Record<string, number>;
  readonly timing: { readonly durationMs: number; readonly completedAt: string };
  readonly actualCost: string;
  readonly note?: string;
  /** For a device's result: how close it came to the circuit's ideal distribution. */
  readonly quality?: ResultQuality;
}

/** Counts as CSV (outcome,count), most frequent first. */
export function countsCsv(counts: Record<string, number>): string {
  const rows = Object.entries(counts).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  return `outcome,count\n${rows.map(([k, v]) => `${k},${v}`).join('\n')}\n`;
}

/** The most frequent outcomes, for status and events that must stay small. */
export function topCounts(
  counts: Record<string, number>,
  limit: number,
): { counts: Record<string, number>; truncated: boolean } {
  const rows = Object.entries(counts).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  return { counts: Object.fromEntries(rows.slice(0, limit)), truncated: rows.length > limit };
}

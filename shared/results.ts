/** Result documents: what execute stores raw and what collect-results publishes. */
import { type Static, Type } from '@sinclair/typebox';
import { JobRef } from '../events/schemas.ts';
import { money } from './resources/schema.ts';
import { estimateCost, type Pricing } from './pricing/pricing.ts';
import { readDocument } from './storage/documents.ts';
import type { ObjectStore } from './storage/object-store.ts';
import { ResultQuality } from './quality.ts';

/** The raw result of a finished run, stored by execute for collect-results. */
export const RawResult = Type.Object({
  counts: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  shots: Type.Integer({ minimum: 0 }),
  durationMs: Type.Number({ minimum: 0 }),
  billedSeconds: Type.Number({ minimum: 0 }),
  actualCostMicros: Type.Integer({ minimum: 0 }),
  note: Type.Optional(Type.String()),
  /** The provider's task id, for runs a provider ran. */
  taskId: Type.Optional(Type.String()),
});
export type RawResult = Static<typeof RawResult>;

/** A stored raw result, parsed; undefined when the run has none yet. */
export function readRawResult(store: ObjectStore, key: string): Promise<RawResult | undefined> {
  return readDocument(store, key, RawResult);
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
  return (await readRawResult(store, key)) ?? raw;
}

/** The result document users read (JSON), one per run. */
export const ResultDocument = Type.Object({
  job: JobRef,
  backend: Type.String(),
  taskId: Type.Optional(Type.String()),
  shots: Type.Integer({ minimum: 0 }),
  /** Counts by classical bit string, Qiskit's order (bit 0 rightmost, registers separated by spaces). */
  counts: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  timing: Type.Object({ durationMs: Type.Number({ minimum: 0 }), completedAt: Type.String() }),
  actualCost: money('What the run cost.'),
  note: Type.Optional(Type.String()),
  /** For a device's result: how close it came to the circuit's ideal distribution. */
  quality: Type.Optional(ResultQuality),
});
export type ResultDocument = Static<typeof ResultDocument>;

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

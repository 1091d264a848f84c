/**
 * How far a device's counts are from the circuit's ideal distribution, in the two figures
 * users of Qiskit know: Hellinger fidelity (qiskit.quantum_info.hellinger_fidelity: 1 for
 * the ideal, the squared Bhattacharyya coefficient) and total variation distance (half the
 * L1 distance: 0 for the ideal, 1 for disjoint outcomes).
 */

import { type Static, Type } from '@sinclair/typebox';

/** The two figures, rounded to 6 places for status and documents. */
export const ResultQuality = Type.Object({
  hellingerFidelity: Type.Number({ minimum: 0, maximum: 1 }),
  totalVariationDistance: Type.Number({ minimum: 0, maximum: 1 }),
});
export type ResultQuality = Static<typeof ResultQuality>;

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** Compares sampled counts with exact probabilities; both keyed by the same outcome strings. */
export function resultQuality(
  counts: Readonly<Record<string, number>>,
  ideal: Readonly<Record<string, number>>,
): ResultQuality {
  const shots = Object.values(counts).reduce((sum, n) => sum + n, 0);
  let overlap = 0;
  let distance = 0;
  for (const key of new Set([...Object.keys(counts), ...Object.keys(ideal)])) {
    const p = shots === 0 ? 0 : (counts[key] ?? 0) / shots;
    const q = ideal[key] ?? 0;
    overlap += Math.sqrt(p * q);
    distance += Math.abs(p - q);
  }
  return { hellingerFidelity: round(Math.min(1, overlap) ** 2), totalVariationDistance: round(distance / 2) };
}

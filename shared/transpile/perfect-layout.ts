/**
 * A layout that needs no swaps, when one exists and is found quickly: every pair of the
 * circuit's qubits that meet in a two-qubit gate placed on coupled physical qubits (a
 * subgraph embedding, searched depth-first as Qiskit's VF2Layout does, within a budget of
 * steps so a circuit with no such layout costs little).
 */
import type { TranspileTarget } from './target.ts';

const BUDGET = 100_000;

/** Logical → physical with every interacting pair coupled, or undefined. */
export function perfectLayout(
  numLogical: number,
  pairs: readonly (readonly [number, number])[],
  target: TranspileTarget,
): Int32Array | undefined {
  const partners = Array.from({ length: numLogical }, () => new Set<number>());
  for (const [a, b] of pairs) {
    partners[a]?.add(b);
    partners[b]?.add(a);
  }
  // Place the busiest qubit first, then always a qubit next to one already placed.
  const order: number[] = [];
  const queued = new Uint8Array(numLogical);
  const byDegree = [...partners.keys()].sort((x, y) => (partners[y]?.size ?? 0) - (partners[x]?.size ?? 0));
  for (const start of byDegree) {
    if (queued[start]) continue;
    queued[start] = 1;
    for (let head = order.push(start) - 1; head < order.length; head++) {
      const next = [...(partners[order[head] as number] as Set<number>)].filter((q) => !queued[q]);
      next.sort((x, y) => (partners[y]?.size ?? 0) - (partners[x]?.size ?? 0));
      for (const q of next) {
        queued[q] = 1;
        order.push(q);
      }
    }
  }
  const l2p = new Int32Array(numLogical).fill(-1);
  const used = new Uint8Array(target.qubits);
  let steps = 0;
  const place = (i: number): boolean => {
    if (i === order.length) return true;
    if (++steps > BUDGET) return false;
    const q = order[i] as number;
    const placedPartner = [...(partners[q] as Set<number>)].find((p) => (l2p[p] as number) >= 0);
    // Next to a placed partner if it has one, else anywhere free (a new piece of the interaction graph).
    const candidates =
      placedPartner === undefined
        ? [...Array(target.qubits).keys()]
        : (target.neighbours[l2p[placedPartner] as number] as readonly number[]);
    for (const p of candidates) {
      if (used[p] || (target.neighbours[p]?.length ?? 0) < (partners[q] as Set<number>).size) continue;
      let fits = true;
      for (const r of partners[q] as Set<number>) {
        const at = l2p[r] as number;
        if (at >= 0 && (target.distance[p] as Int32Array)[at] !== 1) {
          fits = false;
          break;
        }
      }
      if (!fits) continue;
      l2p[q] = p;
      used[p] = 1;
      if (place(i + 1)) return true;
      l2p[q] = -1;
      used[p] = 0;
      if (steps > BUDGET) return false;
    }
    return false;
  };
  return place(0) ? l2p : undefined;
}

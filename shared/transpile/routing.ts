/**
 * Layout and routing onto a coupling map, after SABRE (Li, Ding, Xie, "Tackling the Qubit
 * Mapping Problem for NISQ-Era Quantum Devices", ASPLOS 2019): gates run as soon as their
 * qubits sit on coupled physical qubits; when none can, the swap that most shortens the
 * distances of the waiting gates (and, at half weight, of the next ones) is inserted, with
 * a decay that discourages swapping the same qubits again and again. The initial layout
 * comes from routing forwards and backwards from seeded random placements on a connected
 * region, keeping the trial with the fewest swaps. Seeded: the same input always gives the
 * same result.
 */
import { seededRandom, type Random } from '../simulator/random.ts';
import { InvalidInputError } from '../errors.ts';
import { perfectLayout } from './perfect-layout.ts';
import { type TranspileTarget, UNREACHABLE } from './target.ts';

/** A gate to route: one or two logical qubits. */
export interface RoutingGate {
  readonly qubits: readonly number[];
}

/** What routing produces, in order: the input gates on physical qubits, with swaps between them. */
export type RoutedStep =
  | { readonly kind: 'gate'; readonly index: number; readonly physical: readonly number[] }
  | { readonly kind: 'swap'; readonly a: number; readonly b: number };

export interface Routing {
  readonly steps: readonly RoutedStep[];
  /** Physical qubit of each logical qubit at the start and at the end. */
  readonly initialLayout: Int32Array;
  readonly finalLayout: Int32Array;
  readonly swaps: number;
}

const EXTENDED_SET_SIZE = 20;
const EXTENDED_SET_WEIGHT = 0.5;
const DECAY = 0.001;
const DECAY_RESET = 5;

/** Routes `gates` from `initial` (logical → physical); `emit` false computes only the final layout and swap count. */
export function route(
  gates: readonly RoutingGate[],
  target: TranspileTarget,
  initial: Int32Array,
  random: Random,
  emit = true,
): Routing {
  const { distance, neighbours } = target;
  const l2p = Int32Array.from(initial);
  const p2l = new Int32Array(target.qubits).fill(-1);
  l2p.forEach((p, l) => (p2l[p] = l));
  // The dependency graph: each gate waits for the previous gate on each of its qubits.
  const successors: number[][] = gates.map(() => []);
  const waiting = new Int32Array(gates.length);
  const last = new Int32Array(l2p.length).fill(-1);
  gates.forEach((gate, i) => {
    for (const q of gate.qubits) {
      const previous = last[q] as number;
      if (previous >= 0 && !(successors[previous] as number[]).includes(i)) {
        (successors[previous] as number[]).push(i);
        waiting[i] = (waiting[i] as number) + 1;
      }
      last[q] = i;
    }
  });
  let front: number[] = [];
  gates.forEach((_, i) => waiting[i] === 0 && front.push(i));
  const steps: RoutedStep[] = [];
  const decay = new Float64Array(target.qubits).fill(1);
  let swaps = 0;
  let swapsSinceProgress = 0;
  const seen = new Int32Array(gates.length);
  let stamp = 0;

  const ready = (i: number) => {
    const q = (gates[i] as RoutingGate).qubits;
    return q.length === 1 || distance[l2p[q[0] as number] as number]?.[l2p[q[1] as number] as number] === 1;
  };
  const swap = (a: number, b: number) => {
    const la = p2l[a] as number;
    const lb = p2l[b] as number;
    p2l[a] = lb;
    p2l[b] = la;
    if (la >= 0) l2p[la] = b;
    if (lb >= 0) l2p[lb] = a;
    if (emit) steps.push({ kind: 'swap', a, b });
    swaps++;
    swapsSinceProgress++;
  };

  while (front.length > 0) {
    let progressed = true;
    while (progressed) {
      progressed = false;
      const next: number[] = [];
      for (const i of front) {
        if (!ready(i)) {
          next.push(i);
          continue;
        }
        if (emit)
          steps.push({
            kind: 'gate',
            index: i,
            physical: (gates[i] as RoutingGate).qubits.map((q) => l2p[q] as number),
          });
        for (const s of successors[i] as number[]) {
          waiting[s] = (waiting[s] as number) - 1;
          if (waiting[s] === 0) next.push(s);
        }
        progressed = true;
      }
      if (progressed) {
        decay.fill(1);
        swapsSinceProgress = 0;
      }
      front = next;
    }
    if (front.length === 0) break;

    const [first, second] = (gates[front[0] as number] as RoutingGate).qubits as [number, number];
    if ((distance[l2p[first] as number] as Int32Array)[l2p[second] as number] === UNREACHABLE) {
      throw new InvalidInputError(
        'spec.circuit',
        `qubits ${first} and ${second} meet in a gate but sit on unconnected parts of ${target.name}`,
      );
    }
    if (swapsSinceProgress > 10 * target.qubits) {
      // Stuck (the heuristic can cycle): walk the first waiting gate's qubits together.
      while ((distance[l2p[first] as number] as Int32Array)[l2p[second] as number] !== 1) {
        const from = l2p[first] as number;
        const to = l2p[second] as number;
        const step = (neighbours[from] as number[]).find(
          (n) => (distance[n] as Int32Array)[to] === ((distance[from] as Int32Array)[to] as number) - 1,
        ) as number;
        swap(from, step);
      }
      continue;
    }

    // The next two-qubit gates after the front, for lookahead.
    stamp++;
    const extended: number[] = [];
    const queue = [...front];
    for (let head = 0; head < queue.length && extended.length < EXTENDED_SET_SIZE; head++) {
      for (const s of successors[queue[head] as number] as number[]) {
        if (seen[s] === stamp) continue;
        seen[s] = stamp;
        queue.push(s);
        if ((gates[s] as RoutingGate).qubits.length === 2) extended.push(s);
      }
    }

    const candidates = new Set<number>();
    for (const i of front) {
      for (const q of (gates[i] as RoutingGate).qubits) {
        const p = l2p[q] as number;
        for (const n of neighbours[p] as number[]) candidates.add(Math.min(p, n) * target.qubits + Math.max(p, n));
      }
    }
    let best: number[] = [];
    let bestScore = Infinity;
    for (const pair of candidates) {
      const a = Math.floor(pair / target.qubits);
      const b = pair % target.qubits;
      const moved = (p: number) => (p === a ? b : p === b ? a : p);
      const cost = (set: readonly number[]) => {
        let sum = 0;
        for (const i of set) {
          const [x, y] = (gates[i] as RoutingGate).qubits as [number, number];
          sum += (distance[moved(l2p[x] as number)] as Int32Array)[moved(l2p[y] as number)] as number;
        }
        return set.length === 0 ? 0 : sum / set.length;
      };
      const score =
        Math.max(decay[a] as number, decay[b] as number) * (cost(front) + EXTENDED_SET_WEIGHT * cost(extended));
      if (score < bestScore - 1e-12) {
        bestScore = score;
        best = [pair];
      } else if (score < bestScore + 1e-12) best.push(pair);
    }
    const chosen = best[Math.floor(random() * best.length)] as number;
    const a = Math.floor(chosen / target.qubits);
    const b = chosen % target.qubits;
    swap(a, b);
    decay[a] = (decay[a] as number) + DECAY;
    decay[b] = (decay[b] as number) + DECAY;
    if (swaps % DECAY_RESET === 0) decay.fill(1);
  }
  return { steps, initialLayout: Int32Array.from(initial), finalLayout: l2p, swaps };
}

/** A seeded random placement of `count` logical qubits on a connected region of the device. */
function regionLayout(count: number, target: TranspileTarget, random: Random): Int32Array {
  // Start anywhere a connected piece of the device holds the whole circuit.
  const starts = target.distance
    .map((row, p) => [p, row.filter((d) => d < UNREACHABLE).length] as const)
    .filter(([, reach]) => reach >= count)
    .map(([p]) => p);
  if (starts.length === 0) {
    throw new InvalidInputError('spec.circuit', `${target.name} has no ${count} connected qubits`);
  }
  const start = starts[Math.floor(random() * starts.length)] as number;
  const taken = new Uint8Array(target.qubits);
  const region: number[] = [];
  const grow = (from: number) => {
    const queue = [from];
    taken[from] = 1;
    for (let head = 0; head < queue.length && region.length < count; head++) {
      const p = queue[head] as number;
      region.push(p);
      const next = [...(target.neighbours[p] as number[])].filter((n) => !taken[n]);
      for (let i = next.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [next[i], next[j]] = [next[j] as number, next[i] as number];
      }
      for (const n of next) {
        taken[n] = 1;
        queue.push(n);
      }
    }
  };
  grow(start);
  for (let i = region.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [region[i], region[j]] = [region[j] as number, region[i] as number];
  }
  return Int32Array.from(region.slice(0, count));
}

/** Layout trials and forward-backward refinements per optimisation level. */
const EFFORT: readonly { trials: number; refinements: number }[] = [
  { trials: 1, refinements: 0 },
  { trials: 8, refinements: 2 },
  { trials: 16, refinements: 3 },
  { trials: 32, refinements: 4 },
];

/**
 * Chooses a layout and routes: level 0 places logical qubit i on physical qubit i; higher
 * levels take a layout that needs no swaps when one is found, else try seeded region
 * placements refined by SABRE's forward-backward passes and keep the routing with the
 * fewest swaps.
 */
export function layoutAndRoute(
  gates: readonly RoutingGate[],
  numLogical: number,
  target: TranspileTarget,
  level: number,
  seed: number,
): Routing {
  const effort = EFFORT[Math.max(0, Math.min(3, level))] as (typeof EFFORT)[number];
  if (level <= 0) {
    return route(
      gates,
      target,
      Int32Array.from({ length: numLogical }, (_, i) => i),
      seededRandom(seed),
    );
  }
  const pairs = gates.filter((g) => g.qubits.length === 2).map((g) => g.qubits as [number, number]);
  const perfect = perfectLayout(numLogical, pairs, target);
  if (perfect) return route(gates, target, perfect, seededRandom(seed));
  const reversed = [...gates].reverse();
  let best: Routing | undefined;
  for (let trial = 0; trial < effort.trials; trial++) {
    const random = seededRandom(seed + trial);
    let layout = regionLayout(numLogical, target, random);
    for (let r = 0; r < effort.refinements; r++) {
      const forward = route(gates, target, layout, random, false).finalLayout;
      layout = route(reversed, target, forward, random, false).finalLayout;
    }
    const routed = route(gates, target, layout, random);
    if (!best || routed.swaps < best.swaps) best = routed;
    if (best.swaps === 0) break;
  }
  return best as Routing;
}

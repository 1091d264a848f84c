/**
 * What transpilation compiles for: a device's qubits, its basis gates and the directed
 * qubit pairs its two-qubit gate runs on, with the distances routing needs. Built from a
 * backend entry (a QiskitBackend's `connectivity` and `supportedGates`) or, for IBM
 * systems, from the device data in shared/backends/ibm/devices.
 */
import { InvalidInputError } from '../errors.ts';
import type { BackendEntry } from '../backends/backend.ts';

/** The two-qubit gates a basis can be built on, in order of preference. */
import { type DeviceData, IBM_DEVICES } from '../backends/ibm/devices.ts';

export { type DeviceData, IBM_DEVICES };

export const TWO_QUBIT_GATES = ['cz', 'ecr', 'cx'] as const;
export type TwoQubitGate = (typeof TWO_QUBIT_GATES)[number];

/** A device as transpilation sees it. */
export interface TranspileTarget {
  readonly name: string;
  readonly qubits: number;
  readonly basis: ReadonlySet<string>;
  readonly twoQubitGate: TwoQubitGate;
  /** Whether the two-qubit gate runs on the ordered pair (a, b). */
  readonly native: (a: number, b: number) => boolean;
  /** Neighbours of each physical qubit (either direction). */
  readonly neighbours: readonly (readonly number[])[];
  /** Shortest path lengths between physical qubits (UNREACHABLE when no path joins them). */
  readonly distance: readonly Int32Array[];
}

/** The distance between qubits no path joins. */
export const UNREACHABLE = 0x3fffffff;

/** A target from a qubit count, basis gates and directed couplings (absent: every pair, both ways). */
export function buildTarget(
  name: string,
  qubits: number,
  basisGates: readonly string[],
  couplings: readonly (readonly number[])[] | undefined,
): TranspileTarget {
  const basis = new Set(basisGates.map((g) => (g === 'cnot' ? 'cx' : g)));
  const twoQubitGate = TWO_QUBIT_GATES.find((g) => basis.has(g));
  if (!twoQubitGate) {
    throw new InvalidInputError('backend', `${name}'s basis (${basisGates.join(', ')}) has no cz, ecr or cx`);
  }
  const missing = ['rz', 'sx'].filter((g) => !basis.has(g));
  if (missing.length > 0) {
    throw new InvalidInputError('backend', `${name}'s basis lacks ${missing.join(' and ')}, which transpilation needs`);
  }
  const directed = new Set<number>();
  const neighbours = Array.from({ length: qubits }, () => new Set<number>());
  const couple = (a: number, b: number) => {
    if (!(a >= 0 && b >= 0 && a < qubits && b < qubits && a !== b)) {
      throw new InvalidInputError('backend.connectivity', `pair (${a}, ${b}) is not two of ${name}'s ${qubits} qubits`);
    }
    directed.add(a * qubits + b);
    // cz is symmetric: a pair listed once runs both ways.
    if (twoQubitGate === 'cz') directed.add(b * qubits + a);
    neighbours[a]?.add(b);
    neighbours[b]?.add(a);
  };
  if (couplings) for (const pair of couplings) couple(pair[0] as number, pair[1] as number);
  else for (let a = 0; a < qubits; a++) for (let b = 0; b < qubits; b++) if (a !== b) couple(a, b);
  const lists = neighbours.map((set) => [...set].sort((x, y) => x - y));
  return {
    name,
    qubits,
    basis,
    twoQubitGate,
    native: (a, b) => directed.has(a * qubits + b),
    neighbours: lists,
    distance: distances(lists),
  };
}

/** Breadth-first search from every qubit. */
function distances(neighbours: readonly (readonly number[])[]): Int32Array[] {
  return neighbours.map((_, from) => {
    const d = new Int32Array(neighbours.length).fill(UNREACHABLE);
    d[from] = 0;
    const queue = [from];
    for (let head = 0; head < queue.length; head++) {
      const q = queue[head] as number;
      for (const n of neighbours[q] as readonly number[]) {
        if (d[n] === UNREACHABLE) {
          d[n] = (d[q] as number) + 1;
          queue.push(n);
        }
      }
    }
    return d;
  });
}

/**
 * The target of a backend: its own connectivity and gates when it lists them, else the
 * shipped data of the IBM system it names (by device id or name).
 */
export function targetFor(backend: BackendEntry): TranspileTarget {
  const data = IBM_DEVICES.get(backend.deviceId ?? backend.name) ?? IBM_DEVICES.get(backend.name);
  const basis = backend.supportedGates ?? data?.basisGates;
  if (!basis) {
    throw new InvalidInputError(
      'backend',
      `${backend.name} lists no basis gates: set the QiskitBackend's supportedGates (and connectivity)`,
    );
  }
  const couplings = backend.connectivity ?? data?.couplingMap;
  return buildTarget(backend.name, backend.connectivity || !data ? backend.qubits : data.qubits, basis, couplings);
}

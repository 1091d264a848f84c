/**
 * Gate fusion: turns a run of gates into fewer passes over the state, as Qiskit Aer and
 * qsim do. Gates are gathered greedily, in order, into blocks of at most `maxWidth`
 * qubits; a block of several gates becomes one dense (or diagonal) unitary, and a block of
 * one gate keeps that gate's specialised kernel (a controlled X stays a swap of half the
 * state, never a 4x4 multiplication).
 */
import type { Primitive } from '../qasm/circuit.ts';
import type { KernelOp } from './kernels.ts';
import { applyPrimitive } from './state-vector.ts';

/**
 * Widest fused block by default: wider dense blocks cost more arithmetic than the memory
 * passes they save, in scalar JavaScript and with the SIMD kernels alike (measured, ADR 14).
 */
export const DEFAULT_FUSION_WIDTH = 2;

/**
 * Widest block of diagonal gates (phases, rz, cz, cp...). A diagonal pass costs one complex
 * multiplication per amplitude whatever its width, so these blocks may grow much wider.
 */
export const DIAGONAL_FUSION_WIDTH = 10;

interface Block {
  readonly qubits: number[];
  readonly gates: Primitive[];
  open: boolean;
  merged: boolean;
  /** Every gate in the block is diagonal. */
  readonly diagonal: boolean;
}

const isDiagonalGate = (gate: Primitive) => isDiagonal(gate.matrix, 2 ** gate.targets.length);

const qubitsOf = (gate: Primitive) => [...gate.controls, ...gate.targets];

/** Fuses gates into passes; `maxWidth` 1 or more, 0 or less turns fusion off. */
export function fuseGates(gates: readonly Primitive[], maxWidth = DEFAULT_FUSION_WIDTH): KernelOp[] {
  if (maxWidth <= 0) return gates.map(kernelOpOf);
  const blocks: Block[] = [];
  // The latest block on each qubit. A block is open while it is the latest on all its
  // qubits: nothing after it touches them, so it may move later and take more gates.
  const latest = new Map<number, Block>();
  for (const gate of gates) {
    const qubits = qubitsOf(gate);
    const diagonal = isDiagonalGate(gate);
    const candidates = new Set<Block>();
    for (const q of qubits) {
      const block = latest.get(q);
      if (block?.open) candidates.add(block);
    }
    const union = new Set(qubits);
    for (const block of candidates) for (const q of block.qubits) union.add(q);
    const allDiagonal = diagonal && [...candidates].every((b) => b.diagonal);
    const width = allDiagonal ? Math.max(maxWidth, DIAGONAL_FUSION_WIDTH) : maxWidth;
    let block: Block;
    if (union.size <= width) {
      // Open blocks touch disjoint qubits and nothing after them touches theirs, so they
      // can all move to the end and become one block with this gate.
      // Those blocks also commute with each other (disjoint qubits), so their gates are
      // gathered onto the longest list, not copied: a long run on a few qubits stays linear.
      let base: Block | undefined;
      for (const b of candidates) {
        b.merged = true;
        if (!base || b.gates.length > base.gates.length) base = b;
      }
      const gathered = base ? base.gates : [];
      for (const b of candidates) if (b !== base) for (const g of b.gates) gathered.push(g);
      gathered.push(gate);
      block = {
        qubits: [...union],
        gates: gathered,
        open: true,
        merged: false,
        diagonal: allDiagonal,
      };
    } else {
      const open = qubits.length <= (diagonal ? Math.max(maxWidth, DIAGONAL_FUSION_WIDTH) : maxWidth);
      block = { qubits, gates: [gate], open, merged: false, diagonal };
    }
    blocks.push(block);
    for (const q of block.qubits) {
      const previous = latest.get(q);
      if (previous && previous !== block && !previous.merged) previous.open = false;
      latest.set(q, block);
    }
  }
  return blocks
    .filter((b) => !b.merged)
    .map((b) => (b.gates.length === 1 ? kernelOpOf(b.gates[0] as Primitive) : fusedOp(b)));
}

/** The unitary of a block as one pass: each column is the block applied to a basis state. */
function fusedOp(block: Block): KernelOp {
  const qubits = [...block.qubits].sort((x, y) => x - y);
  const local = new Map(qubits.map((q, j) => [q, j]));
  const k = qubits.length;
  const d = 2 ** k;
  const gates: Primitive[] = block.gates.map((gate) => ({
    name: gate.name,
    targets: gate.targets.map((q) => local.get(q) as number),
    controls: gate.controls.map((q) => local.get(q) as number),
    matrix: gate.matrix,
  }));
  if (block.diagonal) return { kind: 'diagonal', qubits, controls: 0, diagonal: blockDiagonal(gates, d) };
  const matrix = new Float64Array(2 * d * d);
  for (let c = 0; c < d; c++) {
    const state = { numQubits: k, amplitudes: new Float64Array(2 * d) };
    state.amplitudes[2 * c] = 1;
    for (const gate of gates) applyPrimitive(state, gate);
    for (let r = 0; r < d; r++) {
      matrix[2 * (r * d + c)] = state.amplitudes[2 * r] as number;
      matrix[2 * (r * d + c) + 1] = state.amplitudes[2 * r + 1] as number;
    }
  }
  return isDiagonal(matrix, d)
    ? { kind: 'diagonal', qubits, controls: 0, diagonal: diagonalOf(matrix, d) }
    : { kind: 'matrix', qubits, controls: 0, matrix };
}

/** The diagonal of a block of diagonal gates (on local qubits): entry s is the product of each gate's entry for s. */
function blockDiagonal(gates: readonly Primitive[], d: number): Float64Array {
  const out = new Float64Array(2 * d);
  for (let s = 0; s < d; s++) {
    let re = 1;
    let im = 0;
    for (const gate of gates) {
      if (!gate.controls.every((c) => (s >> c) & 1)) continue;
      let t = 0;
      gate.targets.forEach((q, j) => (t |= ((s >> q) & 1) << j));
      const size = 2 ** gate.targets.length;
      const gr = gate.matrix[2 * (t * size + t)] as number;
      const gi = gate.matrix[2 * (t * size + t) + 1] as number;
      [re, im] = [re * gr - im * gi, re * gi + im * gr];
    }
    out[2 * s] = re;
    out[2 * s + 1] = im;
  }
  return out;
}

function isDiagonal(m: Float64Array, d: number): boolean {
  for (let r = 0; r < d; r++) {
    for (let c = 0; c < d; c++) if (r !== c && (m[2 * (r * d + c)] !== 0 || m[2 * (r * d + c) + 1] !== 0)) return false;
  }
  return true;
}

function diagonalOf(m: Float64Array, d: number): Float64Array {
  const out = new Float64Array(2 * d);
  for (let s = 0; s < d; s++) {
    out[2 * s] = m[2 * (s * d + s)] as number;
    out[2 * s + 1] = m[2 * (s * d + s) + 1] as number;
  }
  return out;
}

const maskOf = (qubits: readonly number[]) => qubits.reduce((mask, q) => mask | (1 << q), 0);

/** One gate as its specialised pass. */
export function kernelOpOf(gate: Primitive): KernelOp {
  const m = gate.matrix;
  const k = gate.targets.length;
  const d = 2 ** k;
  if (k === 0) {
    // A global phase: on the controlled part only, or on everything.
    const [last, ...rest] = [...gate.controls].reverse();
    if (last === undefined) return { kind: 'diagonal', qubits: [], controls: 0, diagonal: Float64Array.from(m) };
    return { kind: 'phase', qubits: [last], controls: maskOf(rest), re: m[0] as number, im: m[1] as number };
  }
  const controls = maskOf(gate.controls);
  // Sort the targets, reordering the matrix to match.
  const order = gate.targets.map((q, j) => [q, j] as const).sort(([a], [b]) => a - b);
  const qubits = order.map(([q]) => q);
  const position = new Array<number>(k);
  order.forEach(([, j], sorted) => (position[j] = sorted));
  const permute = (s: number) => {
    let out = 0;
    for (let j = 0; j < k; j++) if ((s >> j) & 1) out |= 1 << (position[j] as number);
    return out;
  };
  const matrix = new Float64Array(2 * d * d);
  for (let r = 0; r < d; r++) {
    for (let c = 0; c < d; c++) {
      const at = 2 * (permute(r) * d + permute(c));
      matrix[at] = m[2 * (r * d + c)] as number;
      matrix[at + 1] = m[2 * (r * d + c) + 1] as number;
    }
  }
  if (isDiagonal(matrix, d)) {
    if (k === 1 && matrix[0] === 1 && matrix[1] === 0) {
      return { kind: 'phase', qubits, controls, re: matrix[6] as number, im: matrix[7] as number };
    }
    return { kind: 'diagonal', qubits, controls, diagonal: diagonalOf(matrix, d) };
  }
  if (k === 1 && isExactly(matrix, [0, 0, 1, 0, 1, 0, 0, 0])) return { kind: 'x', qubits, controls };
  if (k === 2 && isExactly(matrix, SWAP)) return { kind: 'swap', qubits, controls };
  return { kind: 'matrix', qubits, controls, matrix };
}

const SWAP = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];

function isExactly(m: Float64Array, entries: readonly number[]): boolean {
  return m.length === entries.length && entries.every((v, i) => m[i] === v);
}

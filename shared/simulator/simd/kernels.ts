/**
 * Applies passes with the WebAssembly SIMD kernels (kernels-wat.ts). A state they work on
 * lives in a shared WebAssembly memory: each thread has a scratch slot in front of the
 * state for the pass's parameters (the matrix expanded for the vector arithmetic, offsets,
 * tables), and every thread's instance imports the same memory, so worker threads split a
 * pass by groups exactly as the scalar kernels do. Whatever the SIMD kernels do not cover
 * (a single-precision pass on qubit 0, blocks wider than a slot holds, the odd group at
 * the edge of a range) goes to the scalar kernels, which stay the reference.
 */
import { logger } from '../../observability/log.ts';
import { type Amplitudes, applyOp, insertZeros, involvedBits, type KernelOp, maskOf } from '../kernels.ts';
import { type Precision, stateVectorBytes } from '../memory.ts';
import { KERNELS_WASM_BASE64 } from './module.ts';

/** A state in shared WebAssembly memory: what a worker needs to run the SIMD kernels on it. */
export interface SimdMemory {
  readonly memory: WebAssembly.Memory;
  /** Byte offset of the first amplitude, after the threads' scratch slots. */
  readonly stateOffset: number;
}

const PAGE = 65536;
/** Scratch bytes per thread: tables, then parameters, then offsets, then gathered inputs. */
const SLOT_BYTES = PAGE;
const TABLES = 0;
const PARAMS = 4096;
const OFFSETS = PARAMS + 32 * 1024;
const GATHER = OFFSETS + 4 * 32;
/** Widest dense block a slot holds (32 x 32 entries of 32 bytes). */
const MAX_DENSE_QUBITS = 5;
/** Widest diagonal a slot holds (1024 entries). */
const MAX_DIAGONAL_QUBITS = 10;
/** A wasm32 memory addresses at most 4 GiB. */
const MAX_PAGES = 65536;

interface KernelExports {
  dense1(s: number, index: number, count: number, mask: number, ctrl: number, s1: number, p: number): void;
  dense2(s: number, index: number, count: number, mask: number, ctrl: number, s1: number, s2: number, p: number): void;
  dense3(
    s: number,
    index: number,
    count: number,
    mask: number,
    ctrl: number,
    s1: number,
    s2: number,
    s3: number,
    p: number,
  ): void;
  dense(
    s: number,
    index: number,
    count: number,
    mask: number,
    ctrl: number,
    d: number,
    off: number,
    p: number,
    tmp: number,
  ): void;
  phase(s: number, index: number, count: number, mask: number, ctrl: number, offset: number, p: number): void;
  exchange(s: number, index: number, count: number, mask: number, ctrl: number, from: number, to: number): void;
  diagonal(s: number, i: number, n: number, ctrl: number, t: number, p: number): void;
}

// Compiled once per thread, on first use, so loading the simulator stays cheap.
let compiled: WebAssembly.Module | null | undefined;

/** The kernels' module, or undefined where the runtime lacks WebAssembly SIMD or threads. */
export function simdModule(): WebAssembly.Module | undefined {
  if (compiled === undefined) {
    const bytes = Uint8Array.from(atob(KERNELS_WASM_BASE64), (c) => c.charCodeAt(0));
    try {
      compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch (error) {
      // Compiling needs code space, which a capped address space may not have.
      fallBack(error);
      compiled = null;
    }
  }
  return compiled ?? undefined;
}

let saidSo = false;

/** The scalar kernels take over; said once per process, in one log line. */
function fallBack(error: unknown): void {
  if (saidSo) return;
  saidSo = true;
  logger().warn(
    { err: error instanceof Error ? error.message : String(error) },
    'WebAssembly memory for the SIMD kernels could not be reserved (a capped address space?): simulating with the scalar kernels',
  );
}

/** Whether the runtime refused to reserve a WebAssembly memory (as opposed to a bug). */
function isReservationFailure(error: unknown): boolean {
  return error instanceof RangeError || (error instanceof Error && /allocat|reserv|memory/i.test(error.message));
}

/**
 * |0…0⟩ in shared WebAssembly memory with `slots` scratch slots (one per thread that will
 * apply passes), or undefined when SIMD is unavailable or the state does not fit in 4 GiB.
 */
export function allocateSimdState(
  numQubits: number,
  precision: Precision,
  slots: number,
): { amplitudes: Amplitudes; simd: SimdMemory } | undefined {
  const stateOffset = slots * SLOT_BYTES;
  const pages = Math.ceil((stateOffset + stateVectorBytes(numQubits, precision)) / PAGE);
  if (pages > MAX_PAGES || !simdModule()) return undefined;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  } catch (error) {
    if (!isReservationFailure(error)) throw error;
    fallBack(error);
    return undefined;
  }
  const length = 2 ** (numQubits + 1);
  const amplitudes =
    precision === 'double'
      ? new Float64Array(memory.buffer, stateOffset, length)
      : new Float32Array(memory.buffer, stateOffset, length);
  amplitudes[0] = 1;
  return { amplitudes, simd: { memory, stateOffset } };
}

/** The SIMD kernels of one thread over one state, using scratch slot `slot`. */
export class SimdKernels {
  private readonly kernels: KernelExports;
  private readonly double: boolean;
  private readonly ampBytes: number;
  private readonly slot: number;
  private readonly f64: Float64Array;
  private readonly f32: Float32Array;
  private readonly i32: Int32Array;

  constructor(
    private readonly simd: SimdMemory,
    private readonly amplitudes: Amplitudes,
    slot: number,
  ) {
    const module = simdModule();
    if (!module) throw new Error('WebAssembly SIMD is not available in this runtime');
    const exports = new WebAssembly.Instance(module, { env: { memory: simd.memory } }).exports;
    this.double = amplitudes instanceof Float64Array;
    const suffix = this.double ? 'f64' : 'f32';
    const kernel = (name: string) => exports[`${name}_${suffix}`] as (...args: number[]) => void;
    this.kernels = {
      dense1: kernel('dense1'),
      dense2: kernel('dense2'),
      dense3: kernel('dense3'),
      dense: kernel('dense'),
      phase: kernel('phase'),
      exchange: kernel('exchange'),
      diagonal: kernel('diagonal'),
    };
    this.ampBytes = this.double ? 16 : 8;
    this.slot = slot * SLOT_BYTES;
    this.f64 = new Float64Array(simd.memory.buffer, this.slot, SLOT_BYTES / 8);
    this.f32 = new Float32Array(simd.memory.buffer, this.slot, SLOT_BYTES / 4);
    this.i32 = new Int32Array(simd.memory.buffer, this.slot, SLOT_BYTES / 4);
  }

  /**
   * Applies `op` to groups [g0, g1), as kernels.ts's applyOp does; true when the SIMD
   * kernels took the pass (all of it but a single-precision range's odd ends).
   */
  apply(op: KernelOp, g0: number, g1: number): boolean {
    const bits = involvedBits(op);
    const mask = maskOf(bits);
    if (!this.fits(op, mask)) {
      applyOp(this.amplitudes, op, g0, g1);
      return false;
    }
    let from = g0;
    let to = g1;
    if (!this.double) {
      // A vector holds two neighbouring groups: the ranges' odd ends go to the scalar kernel.
      if (from % 2 === 1 && from < to) {
        applyOp(this.amplitudes, op, from, from + 1);
        from += 1;
      }
      if ((to - from) % 2 === 1) {
        applyOp(this.amplitudes, op, to - 1, to);
        to -= 1;
      }
    }
    if (from < to) this.run(op, bits, mask, from, to);
    return true;
  }

  /** Whether the SIMD kernels take `op`: single precision needs bit 0 free, and the parameters must fit a slot. */
  private fits(op: KernelOp, mask: number): boolean {
    if (op.kind === 'matrix' && op.qubits.length > MAX_DENSE_QUBITS) return false;
    if (op.kind === 'diagonal' && op.qubits.length > MAX_DIAGONAL_QUBITS) return false;
    if (this.double) return true;
    return op.kind === 'diagonal' ? (op.controls & 1) === 0 : (mask & 1) === 0;
  }

  private run(op: KernelOp, bits: readonly number[], mask: number, g0: number, g1: number): void {
    const s = this.simd.stateOffset;
    const p = this.slot + PARAMS;
    const ctrl = op.controls;
    const stride = (q: number) => this.ampBytes * 2 ** q;
    if (op.kind === 'diagonal') {
      this.writeDiagonal(op.qubits, op.diagonal);
      const perGroup = 2 ** bits.length;
      this.kernels.diagonal(s, g0 * perGroup, (g1 - g0) * perGroup, ctrl, this.slot + TABLES, p);
      return;
    }
    const index = insertZeros(g0, bits);
    // In single precision a vector spans the group and its neighbour: step over pairs.
    const count = this.double ? g1 - g0 : (g1 - g0) / 2;
    const stepMask = this.double ? mask : mask | 1;
    const q = op.qubits;
    switch (op.kind) {
      case 'matrix': {
        this.writeEntries(op.matrix);
        if (q.length === 1) this.kernels.dense1(s, index, count, stepMask, ctrl, stride(q[0] as number), p);
        else if (q.length === 2) {
          this.kernels.dense2(s, index, count, stepMask, ctrl, stride(q[0] as number), stride(q[1] as number), p);
        } else if (q.length === 3) {
          const [s1, s2, s3] = q.map(stride) as [number, number, number];
          this.kernels.dense3(s, index, count, stepMask, ctrl, s1, s2, s3, p);
        } else {
          const d = 2 ** q.length;
          for (let r = 0; r < d; r++) {
            let offset = 0;
            for (let j = 0; j < q.length; j++) if ((r >> j) & 1) offset += stride(q[j] as number);
            this.i32[(OFFSETS >> 2) + r] = offset;
          }
          this.kernels.dense(s, index, count, stepMask, ctrl, d, this.slot + OFFSETS, p, this.slot + GATHER);
        }
        return;
      }
      case 'phase':
        this.writeEntries(Float64Array.of(op.re, op.im));
        this.kernels.phase(s, index, count, stepMask, ctrl, stride(q[0] as number), p);
        return;
      case 'x':
        this.kernels.exchange(s, index, count, stepMask, ctrl, 0, stride(q[0] as number));
        return;
      case 'swap':
        this.kernels.exchange(s, index, count, stepMask, ctrl, stride(q[0] as number), stride(q[1] as number));
        return;
    }
  }

  /** Complex entries (re, im pairs) written as R = (re, re, …), I = (-im, im, …), 32 bytes each. */
  private writeEntries(entries: Float64Array): void {
    const base = PARAMS;
    for (let e = 0; 2 * e < entries.length; e++) {
      const re = entries[2 * e] as number;
      const im = entries[2 * e + 1] as number;
      if (this.double) this.f64.set([re, re, -im, im], (base >> 3) + 4 * e);
      else this.f32.set([re, re, re, re, -im, im, -im, im], (base >> 2) + 8 * e);
    }
  }

  /**
   * A diagonal's entries and the byte tables that find an amplitude's entry from its index:
   * table b maps byte b of the index to the entry's byte offset (its bits of the op's qubits).
   * Double precision: entries as writeEntries (32 bytes); single: (re, re, -im, im), 16 bytes.
   */
  private writeDiagonal(qubits: readonly number[], diagonal: Float64Array): void {
    const entryShift = this.double ? 5 : 4;
    for (let byte = 0; byte < 4; byte++) {
      for (let v = 0; v < 256; v++) {
        let entry = 0;
        for (let j = 0; j < qubits.length; j++) {
          const q = qubits[j] as number;
          if (q >> 3 === byte && (v >> (q & 7)) & 1) entry |= 1 << j;
        }
        this.i32[(TABLES >> 2) + 256 * byte + v] = entry << entryShift;
      }
    }
    if (this.double) {
      this.writeEntries(diagonal);
      return;
    }
    for (let e = 0; 2 * e < diagonal.length; e++) {
      const re = diagonal[2 * e] as number;
      const im = diagonal[2 * e + 1] as number;
      this.f32.set([re, re, -im, im], (PARAMS >> 2) + 4 * e);
    }
  }
}

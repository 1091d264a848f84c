/**
 * Runs passes (fused kernel ops) over a state vector, on this thread or split across
 * worker threads that share the state through a SharedArrayBuffer. Workers walk the same
 * list of passes, each over its share of every pass's groups, and meet at a barrier
 * between passes; the calling thread only waits.
 */
import { type Amplitudes, applyOp, groupCount, type KernelOp } from './kernels.ts';
import { type Precision, stateVectorBytes } from './memory.ts';
import { cpuQuota } from './cpu-quota.ts';
import { WorkerPool } from './worker-pool.ts';
import { findWorkerEntry, type WorkerEntry } from '../worker-entry.ts';
import { allocateSimdState, SimdKernels, type SimdMemory } from './simd/kernels.ts';

/** Which kernels apply passes: WebAssembly SIMD where the runtime has it, or the scalar reference. */
export type KernelChoice = 'simd' | 'scalar';

/** A state to apply passes to, and the shared WebAssembly memory it lives in when SIMD kernels apply them. */
export interface PassState {
  readonly amplitudes: Amplitudes;
  readonly simd?: SimdMemory | undefined;
}

/**
 * |0…0⟩ for `threads` threads to apply passes to: in shared WebAssembly memory for the
 * SIMD kernels (when chosen and available), else in shared memory when several threads
 * work on it, else in plain memory.
 */
export function allocateState(
  numQubits: number,
  precision: Precision,
  threads: number,
  kernels: KernelChoice,
): PassState {
  const simd = kernels === 'simd' ? allocateSimdState(numQubits, precision, threads) : undefined;
  const state = simd ?? { amplitudes: zeroAmplitudes(numQubits, precision, threads > 1) };
  // Fault the pages in from this thread: worker threads faulting a fresh mapping at once
  // contend in the kernel (measured: 1.1 s for 256 MiB against 0.14 s filled from here).
  if (threads > 1) {
    state.amplitudes.fill(0);
    state.amplitudes[0] = 1;
  }
  return state;
}

/** |0…0⟩, in memory that worker threads can share when `shared` is set. */
export function zeroAmplitudes(numQubits: number, precision: Precision, shared: boolean): Amplitudes {
  const bytes = stateVectorBytes(numQubits, precision);
  const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const a = precision === 'double' ? new Float64Array(buffer) : new Float32Array(buffer);
  a[0] = 1;
  return a;
}

/** Applies every pass on this thread. */
export function runPasses(state: PassState, numQubits: number, ops: readonly KernelOp[]): void {
  const a = state.amplitudes;
  if (state.simd) {
    const kernels = new SimdKernels(state.simd, a, 0);
    for (const op of ops) kernels.apply(op, 0, groupCount(op, numQubits));
  } else for (const op of ops) applyOp(a, op, 0, groupCount(op, numQubits));
}

/** What a worker thread is given. */
export interface WorkerTask {
  readonly buffer: SharedArrayBuffer;
  /** Where the amplitudes are in the buffer (after the scratch slots of a SIMD state). */
  readonly byteOffset: number;
  readonly length: number;
  /** Set when the SIMD kernels apply the passes; each thread uses the scratch slot of its index. */
  readonly simd: SimdMemory | undefined;
  readonly precision: Precision;
  readonly numQubits: number;
  readonly ops: readonly KernelOp[];
  readonly index: number;
  readonly threads: number;
  /** Two Int32 cells: arrivals at the barrier, and its generation. */
  readonly barrier: SharedArrayBuffer;
}

/** How to start a simulator worker: worker.ts beside this module, or simulator-worker.mjs beside a bundle. */
function workerEntry(): WorkerEntry | undefined {
  if (cachedEntry === null) cachedEntry = findWorkerEntry(import.meta.url, 'worker', 'simulator-worker.mjs');
  return cachedEntry;
}

// Looked up once: the files do not move while the process runs.
let cachedEntry: WorkerEntry | undefined | null = null;

/** Whether passes can run on worker threads here (the worker's code is present). */
export function canRunParallel(): boolean {
  return workerEntry() !== undefined;
}

/** Applies every pass split across `threads` worker threads; the state must be in shared memory with a slot per thread. */
export async function runPassesParallel(
  state: PassState,
  numQubits: number,
  ops: readonly KernelOp[],
  threads: number,
  signal?: AbortSignal,
): Promise<void> {
  const entry = workerEntry();
  const a = state.amplitudes;
  if (!entry || !(a.buffer instanceof SharedArrayBuffer)) {
    runPasses(state, numQubits, ops);
    return;
  }
  const barrier = new SharedArrayBuffer(8);
  const precision: Precision = a instanceof Float64Array ? 'double' : 'single';
  const pool = poolFor(entry, threads);
  const workers = pool.borrow(threads);
  // Aborting terminates the threads at once; the run rejects with the signal's reason.
  const aborted = new Promise<never>((_, reject) => {
    // An AbortSignal's reason is the Error its controller gave (TimeLimitError), or an AbortError.
    if (signal?.aborted) reject(signal.reason as Error);
    signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
  aborted.catch(() => undefined);
  let finished = false;
  try {
    await Promise.race([
      aborted,
      Promise.all(
        workers.map(
          (worker, index) =>
            new Promise<void>((resolve, reject) => {
              worker.once('message', () => resolve());
              worker.once('error', reject);
              worker.once('exit', (code) => reject(new Error(`a simulator thread stopped early (exit code ${code})`)));
              const task: WorkerTask = {
                buffer: a.buffer as SharedArrayBuffer,
                byteOffset: a.byteOffset,
                length: a.length,
                simd: state.simd,
                precision,
                numQubits,
                ops,
                index,
                threads,
                barrier,
              };
              worker.postMessage(task);
            }),
        ),
      ),
    ]);
    finished = true;
  } finally {
    // Workers that finished go back to the pool; after an abort or a failure they may be mid-pass.
    if (finished) await pool.giveBack(workers);
    else await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** Simulator threads waiting for work in this process. */
export function idleSimulatorThreads(): number {
  return pool?.idleCount ?? 0;
}

// One pool per process: threads are a process's resource, shared by its simulations.
let pool: WorkerPool | undefined;

function poolFor(entry: WorkerEntry, threads: number): WorkerPool {
  pool ??= new WorkerPool(entry, Math.max(threads, cpuQuota()));
  return pool;
}

/** Waits until all `parties` threads have arrived (a generation-counting barrier). */
export function awaitBarrier(cells: Int32Array, parties: number): void {
  const generation = Atomics.load(cells, 1);
  if (Atomics.add(cells, 0, 1) === parties - 1) {
    Atomics.store(cells, 0, 0);
    Atomics.add(cells, 1, 1);
    Atomics.notify(cells, 1);
    return;
  }
  while (Atomics.load(cells, 1) === generation) Atomics.wait(cells, 1, generation);
}

/** The groups [from, to) of a pass that thread `index` of `threads` takes. */
export function share(groups: number, index: number, threads: number): [number, number] {
  return [Math.floor((groups * index) / threads), Math.floor((groups * (index + 1)) / threads)];
}

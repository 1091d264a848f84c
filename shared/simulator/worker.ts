/**
 * A simulator worker thread, kept by the pool between simulations: for each task it is
 * sent, it applies its share of every pass, meeting the others at a barrier between passes.
 */
import { parentPort } from 'node:worker_threads';
import { awaitBarrier, share, type WorkerTask } from './engine.ts';
import { applyOp, groupCount } from './kernels.ts';
import { SimdKernels } from './simd/kernels.ts';

parentPort?.on('message', (task: WorkerTask) => {
  const a =
    task.precision === 'double'
      ? new Float64Array(task.buffer, task.byteOffset, task.length)
      : new Float32Array(task.buffer, task.byteOffset, task.length);
  const simd = task.simd && new SimdKernels(task.simd, a, task.index);
  const cells = new Int32Array(task.barrier);
  for (const op of task.ops) {
    const [from, to] = share(groupCount(op, task.numQubits), task.index, task.threads);
    if (simd) simd.apply(op, from, to);
    else applyOp(a, op, from, to);
    awaitBarrier(cells, task.threads);
  }
  parentPort?.postMessage('done');
});

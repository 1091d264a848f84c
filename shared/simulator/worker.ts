/**
 * A simulator worker thread, kept by the pool between simulations: for each task it is
 * sent, it applies its share of every pass, meeting the others at a barrier between passes.
 */
import { parentPort } from 'node:worker_threads';
import { awaitBarrier, share, type WorkerTask } from './engine.ts';
import { applyOp, groupCount } from './kernels.ts';

parentPort?.on('message', (task: WorkerTask) => {
  const a = task.precision === 'double' ? new Float64Array(task.buffer) : new Float32Array(task.buffer);
  const cells = new Int32Array(task.barrier);
  for (const op of task.ops) {
    const [from, to] = share(groupCount(op, task.numQubits), task.index, task.threads);
    applyOp(a, op, from, to);
    awaitBarrier(cells, task.threads);
  }
  parentPort?.postMessage('done');
});

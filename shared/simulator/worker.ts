/** A simulator worker thread: applies its share of every pass, meeting the others at a barrier between passes. */
import { parentPort, workerData } from 'node:worker_threads';
import { awaitBarrier, share, type WorkerTask } from './engine.ts';
import { applyOp, groupCount } from './kernels.ts';

const task = workerData as WorkerTask;
const a = task.precision === 'double' ? new Float64Array(task.buffer) : new Float32Array(task.buffer);
const cells = new Int32Array(task.barrier);
for (const op of task.ops) {
  const [from, to] = share(groupCount(op, task.numQubits), task.index, task.threads);
  applyOp(a, op, from, to);
  awaitBarrier(cells, task.threads);
}
parentPort?.postMessage('done');

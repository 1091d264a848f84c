/**
 * One request to a worker thread that answers with the request's `id`: the worker keeps the
 * process alive while it works, and the request ends with its reply, or when the worker fails
 * or exits, the signal aborts or the deadline passes. `release` then learns whether the worker
 * may serve again (it answered) or must go (it failed, or is still busy with abandoned work).
 */
import type { Worker } from 'node:worker_threads';

export interface WorkerRequestOptions {
  readonly signal?: AbortSignal | undefined;
  /** When the request is given up, and the error it rejects with then. */
  readonly deadline?: { readonly ms: number; readonly error: () => Error };
  /** The error when the worker exits before answering. */
  readonly exited: (code: number) => Error;
  /** The error when the signal aborts without an Error as its reason. */
  readonly stopped: () => Error;
  readonly release: (healthy: boolean) => void;
}

/** Posts `message` (with its `id`) and resolves with the worker's reply of that id. */
export function requestWorker<R extends { readonly id: number }>(
  worker: Worker,
  message: { readonly id: number },
  options: WorkerRequestOptions,
): Promise<R> {
  const { signal, deadline } = options;
  return new Promise<R>((resolve, reject) => {
    const finish = (healthy: boolean, settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      worker.unref();
      options.release(healthy);
      settle();
    };
    const onMessage = (reply: R) => {
      if (reply.id === message.id) finish(true, () => resolve(reply));
    };
    const onError = (error: Error) => finish(false, () => reject(error));
    const onExit = (code: number) => finish(false, () => reject(options.exited(code)));
    const aborted = () =>
      finish(false, () => reject(signal?.reason instanceof Error ? signal.reason : options.stopped()));
    const timer = deadline ? setTimeout(() => finish(false, () => reject(deadline.error())), deadline.ms) : undefined;
    if (signal?.aborted) return aborted();
    signal?.addEventListener('abort', aborted, { once: true });
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    // Busy, the worker keeps the process alive until it answers.
    worker.ref();
    worker.postMessage(message);
  });
}

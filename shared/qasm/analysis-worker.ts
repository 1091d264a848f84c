/**
 * A worker thread that checks circuits (analyzeQasm), so the thread answering requests stays
 * free while a large or looping program is unrolled (analyze-off-thread.ts sends the work).
 */
import { parentPort } from 'node:worker_threads';
import { analyzeQasm, type CompileOptions, QasmLimitError } from './index.ts';
import { InvalidInputError } from '../errors.ts';

/** What the worker answers for one circuit. */
export type AnalysisReply =
  | { readonly id: number; readonly metadata: ReturnType<typeof analyzeQasm> }
  | { readonly id: number; readonly invalid: { where: string; text: string; limit?: string } }
  | { readonly id: number; readonly internal: string };

parentPort?.on('message', ({ id, source, options }: { id: number; source: string; options: CompileOptions }) => {
  let reply: AnalysisReply;
  try {
    reply = { id, metadata: analyzeQasm(source, options) };
  } catch (error) {
    if (error instanceof InvalidInputError) {
      const prefix = error.where ? `${error.where}: ` : '';
      const text = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
      reply = {
        id,
        invalid: { where: error.where, text, ...(error instanceof QasmLimitError ? { limit: error.limit } : {}) },
      };
    } else reply = { id, internal: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});

/** Every stage of the pipeline, for runtimes that host several in one process. */
import type { StageDefinition } from '../shared/runtime/stage.ts';
import { stage as collectResults } from './collect-results/handler.ts';
import { stage as enforceBudget } from './enforce-budget/handler.ts';
import { stage as execute } from './execute/handler.ts';
import { stage as notify } from './notify/handler.ts';
import { stage as selectBackend } from './select-backend/handler.ts';
import { stage as validate } from './validate/handler.ts';

/** All six stages in pipeline order. */
export const ALL_STAGES: readonly StageDefinition[] = [
  validate,
  selectBackend,
  enforceBudget,
  execute,
  collectResults,
  notify,
];

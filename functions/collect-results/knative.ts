// Knative service entry point: wiring only (PORT, K_SINK and settings from the environment).
import { serveStageFromEnvironment } from '../../shared/runtime/serve.ts';
import { stage } from './handler.ts';

await serveStageFromEnvironment(stage);

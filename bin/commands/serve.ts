/** `qpipe serve`: one stage as a CloudEvents HTTP service, or the whole pipeline behind one ingress. */
import { ALL_STAGES } from '../../functions/stages.ts';
import type { QpipeConfig } from '../../shared/config.ts';
import { serveDeadLetters, servePipeline, serveStage, serveTimer } from '../../shared/runtime/serve.ts';
import { writeOut } from '../terminal.ts';
import { UsageError } from './usage-error.ts';

/** Starts the server and keeps the process alive until SIGTERM or SIGINT. */
export async function serveCommand(options: {
  config: QpipeConfig;
  stage?: string;
  port: number;
  host?: string;
  resources: readonly string[];
}): Promise<number> {
  const common = {
    config: options.config,
    port: options.port,
    resources: options.resources,
    ...(options.host ? { host: options.host } : {}),
  };
  const sink = process.env['K_SINK'];
  if (options.stage === 'dead-letters') {
    const serving = await serveDeadLetters(common);
    writeOut(`qpipe dead-letters listening on ${serving.url}\n`);
  } else if (options.stage === 'timer') {
    const serving = await serveTimer({ ...common, ...(sink ? { sink } : {}) });
    writeOut(`qpipe timer listening on ${serving.url}\n`);
  } else if (options.stage !== undefined) {
    const stage = ALL_STAGES.find((s) => s.stage === options.stage);
    if (!stage) {
      throw new UsageError(
        `--stage: "${options.stage}" is not a stage; choose one of ${ALL_STAGES.map((s) => s.stage).join(', ')}, timer or dead-letters`,
      );
    }
    const serving = await serveStage(stage, { ...common, ...(sink ? { sink } : {}) });
    writeOut(`qpipe ${stage.stage} listening on ${serving.url}\n`);
  } else {
    const serving = await servePipeline(ALL_STAGES, common);
    writeOut(
      `qpipe pipeline listening on ${serving.url} (POST events to /, GET /jobs/<namespace>/<name>, GET /metrics)\n`,
    );
  }
  // The server keeps the event loop alive; stopping is by signal.
  return new Promise<number>(() => undefined);
}

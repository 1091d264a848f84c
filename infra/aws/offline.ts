/**
 * A serverless config for running the stack on this machine with serverless-offline and
 * serverless-offline-aws-eventbridge (a local bus on port 4010): the generated
 * serverless.yml plus the plugins, and environment that points the functions at the local
 * bus and a local store instead of S3. Used by the Lambda end-to-end test.
 */
import { parse, stringify } from 'yaml';
import { renderServerlessYaml } from './render.ts';

/** The offline variant of serverless.yml, with the functions' data in `storeDir`, or in S3 when `s3` is given. */
export function renderOfflineConfig(options: {
  storeDir: string;
  /** Environment pointing the functions at an S3-compatible server (bucket, endpoint, keys). */
  s3?: Record<string, string>;
  busPort: number;
  pubSubPort: number;
  /** Where the bundles are, when not .build (a test builds its own, so packaging can rebuild .build meanwhile). */
  buildDir?: string;
}): string {
  const config = parse(renderServerlessYaml()) as {
    provider: { environment: Record<string, unknown> };
    functions: Record<string, { handler: string; environment?: Record<string, unknown> }>;
  } & Record<string, unknown>;
  // The timer and the backup (AWS schedules) stay out: serverless-offline runs their crons, and
  // with the timer's the first job published after start-up never reached validate (on Node 24).
  // Offline the tests fire the schedules themselves (moto's Scheduler keeps them).
  delete config.functions['timer'];
  delete config.functions['backup'];
  // CloudFormation intrinsics (a resource's ARN, an opt-in's Fn::If) mean nothing offline: the
  // opt-ins are off, and the provider-level values below stand in for the resources.
  for (const fn of Object.values(config.functions)) {
    for (const [name, value] of Object.entries(fn.environment ?? {}))
      if (typeof value === 'object') delete fn.environment?.[name];
  }
  if (options.buildDir) {
    for (const fn of Object.values(config.functions))
      fn.handler = fn.handler.replace(/^\.build\//, `${options.buildDir}/`);
  }
  config['plugins'] = {
    localPath: './infra/aws/node_modules',
    modules: ['serverless-offline-aws-eventbridge', 'serverless-offline'],
  };
  config['custom'] = {
    'serverless-offline': { host: '127.0.0.1', httpPort: 0, lambdaPort: 0, noPrependStageInUrl: true },
    'serverless-offline-aws-eventbridge': {
      port: options.busPort,
      pubSubPort: options.pubSubPort,
      hostname: '127.0.0.1',
      mockEventBridgeServer: true,
      throwRetryExhausted: false,
      maximumRetryAttempts: 3,
      retryDelayMs: 200,
    },
  };
  const environment = config.provider.environment;
  delete environment['QPIPE_S3_BUCKET'];
  Object.assign(environment, options.s3 ?? {});
  Object.assign(environment, {
    QPIPE_EVENT_BUS: 'qpipe-dev',
    QPIPE_STORE: options.storeDir,
    QPIPE_MAIL_TRANSPORT: 'outbox',
    AWS_ENDPOINT_URL_EVENTBRIDGE: `http://127.0.0.1:${options.busPort}`,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'offline',
    AWS_SECRET_ACCESS_KEY: 'offline',
    ...options.s3,
  });
  return stringify(config, { lineWidth: 0 });
}

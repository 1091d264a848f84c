/**
 * The provider executors a configuration enables, with their SDKs loaded only then:
 * Amazon Braket (standard AWS settings; AWS_ENDPOINT_URL_BRAKET and AWS_ENDPOINT_URL_S3
 * included) and IBM Quantum (REST, IAM API key).
 */
import type { QpipeConfig } from '../config.ts';
import type { BackendType } from '../resources/schema.ts';
import type { BackendExecutor } from './backend.ts';

/**
 * An executor that loads its implementation (and SDK) on first use, so a stage that never
 * runs or checks a provider task never loads it; Lambda bundles of such stages leave the
 * SDK out (infra/aws/bundle.ts).
 */
function onFirstUse(type: BackendType, load: () => Promise<BackendExecutor>): BackendExecutor {
  let loaded: Promise<BackendExecutor> | undefined;
  const real = () => (loaded ??= load());
  return {
    type,
    execute: async (request) => (await real()).execute(request),
    status: async (backend) => {
      const executor = await real();
      if (!executor.status) throw new Error(`${type} reports no device status`);
      return executor.status(backend);
    },
    collect: async (task) => {
      const executor = await real();
      if (!executor.collect) throw new Error(`${type} has no tasks to collect`);
      return executor.collect(task);
    },
    cancel: async (task) => {
      const executor = await real();
      if (!executor.cancel) throw new Error(`${type} has no tasks to cancel`);
      return executor.cancel(task);
    },
    // Sessions too: a wrapper that left them out would make a deployment refuse every session job.
    openSession: async (backend, options) => {
      const executor = await real();
      if (!executor.openSession) throw new Error(`${type} has no sessions`);
      return executor.openSession(backend, options);
    },
    closeSession: async (backend, sessionId) => {
      const executor = await real();
      if (!executor.closeSession) throw new Error(`${type} has no sessions`);
      return executor.closeSession(backend, sessionId);
    },
    sessionAcceptsJobs: async (backend, sessionId) => {
      const executor = await real();
      if (!executor.sessionAcceptsJobs) throw new Error(`${type} has no sessions`);
      return executor.sessionAcceptsJobs(backend, sessionId);
    },
  };
}

/** Executors for the providers the configuration sets up. */
export function providerExecutors(config: QpipeConfig): Partial<Record<BackendType, BackendExecutor>> {
  const executors: Partial<Record<BackendType, BackendExecutor>> = {};
  const { braket, ibm } = config.providers;
  if (braket) {
    executors.aws_braket = onFirstUse('aws_braket', async () => {
      const [{ BraketClient }, { S3Client }, { createBraketExecutor }] = await Promise.all([
        import('@aws-sdk/client-braket'),
        import('@aws-sdk/client-s3'),
        import('./braket/braket-executor.ts'),
      ]);
      // QPUs answer only in their own region; one client per region, made on first use.
      const clients = new Map<string, InstanceType<typeof BraketClient>>();
      return createBraketExecutor({
        client: (region) => {
          // Region-less ARNs (the on-demand simulators) run in the configured Braket region.
          region ??= braket.region;
          const key = region ?? '';
          let client = clients.get(key);
          if (!client) {
            // Short timeouts: a status call must not hold up selection, and the bus retries a submission.
            client = new BraketClient({
              ...(region ? { region } : {}),
              maxAttempts: 2,
              requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
            });
            clients.set(key, client);
          }
          return client;
        },
        s3: new S3Client({ forcePathStyle: config.s3?.forcePathStyle ?? false }),
        outputBucket: braket.outputBucket,
        outputPrefix: braket.outputPrefix,
      });
    });
  }
  if (ibm) {
    executors.ibm_quantum = onFirstUse('ibm_quantum', async () => {
      const [{ IbmClient }, { createIbmExecutor }] = await Promise.all([
        import('./ibm/ibm-client.ts'),
        import('./ibm/ibm-executor.ts'),
      ]);
      return createIbmExecutor(new IbmClient(ibm));
    });
  }
  return executors;
}

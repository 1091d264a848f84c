/**
 * `qpipe bridge`: runs the EKS bridge (shared/bridge/bridge.ts) against the cluster it runs
 * in (in-cluster credentials, or KUBECONFIG) and the deployment's store, publishing job
 * requests to the bus (or a broker URL), a pass every `intervalSeconds` until stopped.
 */
import { bridgePass, type BridgeReport } from '../bridge/bridge.ts';
import type { QpipeConfig } from '../config.ts';
import { logger } from '../observability/log.ts';
import { createDeployedPorts } from '../runtime/deployed-ports.ts';
import { postEvents } from '../runtime/http-binding.ts';

/** Options of the bridge. */
export interface BridgeCommandOptions {
  readonly config: QpipeConfig;
  readonly to: { readonly bus: string } | { readonly url: string };
  readonly intervalSeconds: number;
  /** One pass, then return (tests, cron jobs). */
  readonly once: boolean;
  readonly onPass?: (report: BridgeReport) => void;
}

/** Runs passes until SIGTERM (or one, with `once`). */
export async function runBridge(options: BridgeCommandOptions): Promise<void> {
  const [{ CoreV1Api, CustomObjectsApi, KubeConfig }, { KubernetesCluster }] = await Promise.all([
    import('@kubernetes/client-node'),
    import('../cluster/kubernetes-cluster.ts'),
  ]);
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const cluster = new KubernetesCluster({
    custom: kc.makeApiClient(CustomObjectsApi),
    core: kc.makeApiClient(CoreV1Api),
  });
  const { store } = await createDeployedPorts(
    { ...options.config, cluster: 'local' },
    { budgets: [], backends: [], configMaps: [] },
  );
  const to = options.to;
  let publish = (events: Parameters<typeof postEvents>[1]) => postEvents('url' in to ? to.url : '', events);
  if ('bus' in to) {
    const [{ EventBridgeClient }, { createEventBridgePublisher }] = await Promise.all([
      import('@aws-sdk/client-eventbridge'),
      import('../runtime/eventbridge-publisher.ts'),
    ]);
    publish = createEventBridgePublisher({ client: new EventBridgeClient({}), busName: to.bus, store });
  }
  const log = logger().child({ stage: 'bridge' });
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  do {
    try {
      const report = await bridgePass({ cluster, store, publish: (events) => publish(events) });
      options.onPass?.(report);
      if (report.requested.length + report.statusWritten.length + report.resources > 0) log.info(report, 'pass');
    } catch (error) {
      // A failed pass is retried by the next one.
      if (options.once) throw error;
      log.warn({ err: String(error) }, 'pass failed');
    }
    if (options.once) return;
    await new Promise((resolve) => setTimeout(resolve, options.intervalSeconds * 1000));
  } while (!stop.signal.aborted);
}

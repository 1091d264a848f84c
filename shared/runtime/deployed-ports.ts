/**
 * Ports for a deployed stage, chosen by configuration: the Kubernetes API or local files
 * for the cluster, S3 or a folder for objects and ledgers. SDKs load only when chosen.
 */
import type { QpipeConfig } from '../config.ts';
import { LocalCluster, type LocalResources } from '../cluster/local-cluster.ts';
import { cachedResources, withStored } from '../resources/resource-store.ts';
import { createLocalPorts } from './embedded.ts';
import type { Metrics } from '../observability/metrics.ts';
import { ObjectLedgerStore } from '../budget/object-ledger-store.ts';
import type { Ports } from './ports.ts';
import { OutboxMailer } from '../mail/outbox-mailer.ts';

/**
 * The object store and ledgers on S3 (any S3 API), when configured; with them the outbox, when
 * mail goes to one: a pod's disk is its own and lost with it, the bucket is everyone's.
 */
async function s3Ports(config: QpipeConfig): Promise<Partial<Pick<Ports, 'store' | 'ledger' | 'mailer'>>> {
  if (!config.s3) return {};
  const [{ S3Client }, { S3ObjectStore }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('../storage/s3-object-store.ts'),
  ]);
  const client = new S3Client({ forcePathStyle: config.s3.forcePathStyle });
  const store = new S3ObjectStore(client, config.s3.bucket, config.s3.prefix.replace(/\/+$/, ''));
  return {
    store,
    ledger: new ObjectLedgerStore(store),
    ...(config.mail.transport === 'outbox' ? { mailer: new OutboxMailer(store, config.mail.from) } : {}),
  };
}

/** Builds the ports a served stage (or a Lambda) uses: its runtime's composition root. */
export async function createDeployedPorts(
  config: QpipeConfig,
  resources: LocalResources,
  options: { readonly metrics?: Metrics } = {},
): Promise<Ports> {
  const local = await createLocalPorts(config, resources, () => new Date(), options);
  const ports = { ...local, ...(await s3Ports(config)) };
  // Without Kubernetes, resources are what `qpipe apply` stored (and any given as files);
  // status of jobs that have no object in Kubernetes (or no Kubernetes) lives in the same store.
  const stored = cachedResources(ports.store);
  const storeStatus = new LocalCluster(async () => withStored(resources, await stored()), ports.store);
  // The store's resources (qpipe apply) count wherever the store is, a bucket or the local folder.
  let cluster: Ports['cluster'] = storeStatus;
  if (config.cluster === 'kubernetes') {
    const [{ CoreV1Api, CustomObjectsApi, KubeConfig }, { KubernetesCluster }] = await Promise.all([
      import('@kubernetes/client-node'),
      import('../cluster/kubernetes-cluster.ts'),
    ]);
    const kc = new KubeConfig();
    kc.loadFromDefault();
    cluster = new KubernetesCluster({
      custom: kc.makeApiClient(CustomObjectsApi),
      core: kc.makeApiClient(CoreV1Api),
      withoutObject: storeStatus,
    });
  }
  return { ...ports, cluster };
}

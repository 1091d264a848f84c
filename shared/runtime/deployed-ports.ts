/**
 * Ports for a deployed stage, chosen by configuration: the Kubernetes API or local files
 * for the cluster, S3 or a folder for objects and ledgers. SDKs load only when chosen.
 */
import type { QpipeConfig } from '../config.ts';
import { LocalCluster, type LocalResources } from '../cluster/local-cluster.ts';
import { createLocalPorts } from './embedded.ts';
import type { Ports } from './ports.ts';
import { StoreScheduler } from '../scheduler/store-scheduler.ts';

/** Builds the ports a served stage uses. */
export async function createDeployedPorts(config: QpipeConfig, resources: LocalResources): Promise<Ports> {
  let ports = await createLocalPorts(config, resources);
  if (config.cluster === 'kubernetes') {
    const [{ CoreV1Api, CustomObjectsApi, KubeConfig }, { KubernetesCluster }] = await Promise.all([
      import('@kubernetes/client-node'),
      import('../cluster/kubernetes-cluster.ts'),
    ]);
    const kc = new KubeConfig();
    kc.loadFromDefault();
    ports = {
      ...ports,
      cluster: new KubernetesCluster({ custom: kc.makeApiClient(CustomObjectsApi), core: kc.makeApiClient(CoreV1Api) }),
    };
  }
  if (config.s3) {
    const [{ S3Client }, { S3ObjectStore }, { S3LedgerStore }] = await Promise.all([
      import('@aws-sdk/client-s3'),
      import('../storage/s3-object-store.ts'),
      import('../budget/s3-ledger-store.ts'),
    ]);
    const client = new S3Client({ forcePathStyle: config.s3.forcePathStyle });
    const prefix = config.s3.prefix.replace(/\/+$/, '');
    const store = new S3ObjectStore(client, config.s3.bucket, prefix);
    ports = {
      ...ports,
      store,
      ledger: new S3LedgerStore(client, config.s3.bucket, prefix ? `${prefix}/ledgers` : 'ledgers'),
      // Without Kubernetes, job and budget status live in the same bucket.
      ...(config.cluster === 'local' ? { cluster: new LocalCluster(resources, store) } : {}),
    };
  }
  // The bus of a deployment delivers at once: delayed events wait in the store for the timer.
  return { ...ports, scheduler: new StoreScheduler(ports.store) };
}

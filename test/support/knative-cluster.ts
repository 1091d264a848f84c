/**
 * qpipe installed as README says (`kubectl apply -k infra/knative`) on Knative's real Eventing
 * data plane and Serving's webhook (knative-platform.ts), a real kube-apiserver and MinIO. The
 * ApiServerSource's receive adapter and the PingSource adapter are Knative's, started from the
 * Deployments Knative's controller made for qpipe's sources; events go through the real broker
 * ingress, in-memory channel and filter, with the rendered Triggers and the Broker's delivery.
 *
 * Stands in: Serving's controller and data plane. Each KService, as stored after Serving's
 * webhook defaulted it and the SinkBinding gave it K_SINK, gets its status (its cluster
 * address) written here and runs as the image starts it (`qpipe serve --stage`) on a fixed
 * loopback port the proxy maps its address to: its env as kubelet resolves it (ConfigMap,
 * Secrets), its ServiceAccount's token, its own scratch folder for the emptyDir /tmp (one
 * filesystem per pod). A stage runs on the host, where cluster names do not resolve: URLs
 * naming the broker ingress or MinIO are given their loopback addresses.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { freePort, type KubeApiServer } from './kube-apiserver.ts';
import {
  type Container,
  eventually,
  type KnativePlatform,
  type Pod,
  type ProxiedRequest,
  type SentRequest,
  startKnativePlatform,
  type Workload,
} from './knative-platform.ts';
import { type MinioServer, startMinio } from './minio.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/qpipe.js');
const NAMESPACE = 'qpipe';

interface Rendered {
  readonly kind: string;
  readonly apiVersion: string;
  readonly metadata: { readonly name: string };
  readonly data?: Record<string, string>;
  readonly spec?: Record<string, unknown>;
}

interface StoredService {
  metadata: { name: string; generation: number };
  spec: {
    template: {
      spec: {
        serviceAccountName: string;
        containers: (Container & { volumeMounts?: { name: string; mountPath: string }[] })[];
      };
    };
  };
}

/** One stage process. */
export interface StagePod {
  readonly name: string;
  readonly url: string;
  readonly metricsUrl: string;
  readonly process: ChildProcess;
  readonly output: () => string;
}

/** The assembled deployment. */
export interface KnativeCluster {
  readonly api: KubeApiServer;
  readonly s3: MinioServer;
  readonly platform: KnativePlatform;
  readonly pods: Map<string, StagePod>;
  readonly bucket: string;
  /** Host-side address of the broker ingress, for producers outside the cluster. */
  readonly ingressUrl: string;
  /** Deliveries to stages (by the broker filter, the PingSource), with the stage's answer. */
  deliveries(): (ProxiedRequest & { stage: string })[];
  /** Requests that reached a stage, answered or not, in the order they arrived. */
  arrivals(): (SentRequest & { stage: string })[];
  /** Events sent to the broker (by the ApiServerSource adapter and by stages), with its answer. */
  sentToBroker(): ProxiedRequest[];
  /** Sends a copy of a request's CloudEvent to the broker, as a producer sending again would; its status. */
  resend(request: SentRequest): Promise<number>;
  /** The ApiServerSource adapter's process. */
  readonly source: () => Pod;
  /** Runs kubectl as the cluster administrator (as a user would). */
  kubectl(...args: string[]): Promise<string>;
  /**
   * README's `kubectl label namespace NS qpipe.io/jobs=enabled`, then waits for the rollout it
   * causes: Knative's controller gives the adapter the namespaces its selector matches.
   */
  enableNamespace(namespace: string): Promise<void>;
  /** Kills a stage's process (SIGKILL) and starts a new one in its place, as Kubernetes would. */
  restart(service: string): Promise<void>;
  /** Stops the ApiServerSource adapter (an outage), and starts it again. */
  stopSource(): Promise<void>;
  startSource(): Promise<void>;
  stop(): Promise<void>;
}

/** The rendered Knative manifests. */
export function renderedKnativeText(): string {
  return execFileSync('kubectl', ['kustomize', join(ROOT, 'infra/knative')], { encoding: 'utf8' });
}

export function renderedKnative(): Rendered[] {
  return parseAllDocuments(renderedKnativeText()).map((d) => d.toJS() as Rendered);
}

const stageHost = (service: string) => `${service}.${NAMESPACE}.svc.cluster.local`;

/** Starts everything; `config` sets ConfigMap qpipe-config values, as an operator would. */
export async function startKnativeCluster(
  options: { readonly config?: Record<string, string> } = {},
): Promise<KnativeCluster> {
  const rendered = renderedKnative();
  const services = rendered.filter((d) => d.kind === 'Service' && d.apiVersion.startsWith('serving.knative.dev'));
  const ports = new Map<string, number>();
  for (const service of services) ports.set(service.metadata.name, await freePort());
  const bucket = 'qpipe';
  const s3 = await startMinio([bucket]);
  let platform: KnativePlatform | undefined;
  const scratch = await mkdtemp(join(tmpdir(), 'qpipe-pods-'));
  const pods = new Map<string, StagePod>();
  let source: Workload | undefined;
  let revisionWatch: NodeJS.Timeout | undefined;
  const stop = async () => {
    clearInterval(revisionWatch);
    for (const pod of pods.values()) pod.process.kill('SIGKILL');
    await platform?.stop();
    await s3.close();
    await rm(scratch, { recursive: true, force: true });
  };
  try {
    platform = await startKnativePlatform({
      routes: Object.fromEntries([...ports].map(([name, port]) => [stageHost(name), `tcp:127.0.0.1:${port}`])),
    });
    const live = platform;
    const kubectl = (...args: string[]) => live.kubectl(...args);

    // README: label the namespaces, fill in qpipe-config and the storage Secret, apply -k.
    await live.kubectlInput(renderedKnativeText(), 'apply', '-f', '-');
    await kubectl(
      'create',
      'secret',
      'generic',
      '-n',
      NAMESPACE,
      'qpipe-storage-credentials',
      `--from-literal=AWS_ACCESS_KEY_ID=${s3.accessKeyId}`,
      `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}`,
    );
    if (options.config) {
      await kubectl(
        'patch',
        'configmap',
        '-n',
        NAMESPACE,
        'qpipe-config',
        '--type=merge',
        '-p',
        JSON.stringify({ data: options.config }),
      );
    }
    await kubectl('label', 'namespace', NAMESPACE, 'qpipe.io/jobs=enabled', '--overwrite');

    // Cluster names a stage on the host cannot resolve, and their loopback addresses.
    const hostAddresses: [RegExp, string][] = [
      [/^http:\/\/broker-ingress\.knative-eventing\.svc\.cluster\.local(?::80)?/, live.ingressUrl],
      [/^http:\/\/minio(?:\.qpipe(?:\.svc(?:\.cluster\.local)?)?)?:9000/, s3.endpoint],
    ];
    const onHost = (value: string) =>
      hostAddresses.reduce((v, [pattern, address]) => v.replace(pattern, address), value);

    /** Kills a stage's process and starts a new one in its place. */
    const replaceStage = async (name: string) => {
      const pod = pods.get(name);
      if (!pod) throw new Error(`no pod ${name}`);
      if (pod.process.exitCode === null && pod.process.signalCode === null) {
        const exited = new Promise((r) => pod.process.once('exit', r));
        pod.process.kill('SIGKILL');
        await exited;
      }
      await startStage(name);
    };
    const startStage = async (name: string): Promise<StagePod> => {
      const stored = JSON.parse(await kubectl('get', 'ksvc', '-n', NAMESPACE, name, '-o', 'json')) as StoredService;
      const spec = stored.spec.template.spec;
      const container = spec.containers[0] as StoredService['spec']['template']['spec']['containers'][0];
      const env = await live.containerEnv(NAMESPACE, `${name}-local`, container);
      // The emptyDir at /tmp: a folder of this pod's own.
      const tmp = await mkdtemp(join(scratch, `${name}-`));
      for (const [key, value] of Object.entries(env)) {
        env[key] = onHost(value.startsWith('/tmp/') || value === '/tmp' ? tmp + value.slice(4) : value);
      }
      const port = String(ports.get(name));
      // Each pod has a network of its own; on one host, metrics ports must differ.
      if (env['QPIPE_METRICS_PORT']) env['QPIPE_METRICS_PORT'] = String(await freePort());
      const child = spawn(
        process.execPath,
        // The image's CMD: node bin/qpipe.js serve --stage "$QPIPE_STAGE" --host 0.0.0.0 --port "$PORT".
        [BIN, 'serve', '--stage', env['QPIPE_STAGE'] ?? '', '--host', '127.0.0.1', '--port', port],
        {
          env: {
            ...env,
            PATH: process.env['PATH'] ?? '',
            HOME: tmp,
            PORT: port,
            // Serving's runtime contract, and what kubelet mounts (here: a token kubeconfig, the namespace).
            K_SERVICE: name,
            KUBECONFIG: await live.serviceAccountKubeconfig(NAMESPACE, spec.serviceAccountName),
            QPIPE_NAMESPACE: env['QPIPE_NAMESPACE'] ?? NAMESPACE,
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
            ...(process.env['QPIPE_TEST_POD_LOG_LEVEL'] ? { LOG_LEVEL: process.env['QPIPE_TEST_POD_LOG_LEVEL'] } : {}),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-500_000)));
      child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-500_000)));
      const url = `http://127.0.0.1:${port}`;
      await eventually(`${name} listening`, 30_000, async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${output}`);
        return (await fetch(`${url}/readyz`)).ok ? true : undefined;
      });
      const metricsUrl = env['QPIPE_METRICS_PORT'] ? `http://127.0.0.1:${env['QPIPE_METRICS_PORT']}` : url;
      const pod = { name, url, metricsUrl, process: child, output: () => output };
      pods.set(name, pod);
      return pod;
    };

    // Serving's controller, standing in: each KService's address, and Ready at its generation.
    const reportReady = async (name: string, generation: number) => {
      const url = `http://${stageHost(name)}`;
      const revision = `${name}-${String(generation).padStart(5, '0')}`;
      const condition = (type: string) => ({ type, status: 'True', lastTransitionTime: new Date().toISOString() });
      await live.patchStatus('ksvc', NAMESPACE, name, {
        observedGeneration: generation,
        url,
        address: { url },
        latestCreatedRevisionName: revision,
        latestReadyRevisionName: revision,
        conditions: ['ConfigurationsReady', 'Ready', 'RoutesReady'].map(condition),
      });
    };
    const listServices = async () =>
      (JSON.parse(await kubectl('get', 'ksvc', '-n', NAMESPACE, '-o', 'json')) as { items: StoredService[] }).items;
    for (const service of await listServices()) await reportReady(service.metadata.name, service.metadata.generation);
    // The SinkBinding gives every stage K_SINK (the broker's address) in its KService.
    await eventually('K_SINK in every KService (SinkBinding)', 60_000, async () =>
      (await listServices()).every((s) => s.spec.template.spec.containers[0]?.env?.some((e) => e.name === 'K_SINK'))
        ? true
        : undefined,
    );
    // Each new generation of a KService is a new revision: its pod starts again with the
    // ConfigMap and Secrets as they are then (how README has settings take effect).
    const running = new Map<string, number>();
    for (const service of await listServices()) {
      running.set(service.metadata.name, service.metadata.generation);
      await reportReady(service.metadata.name, service.metadata.generation);
      await startStage(service.metadata.name);
    }
    let rolling = false;
    revisionWatch = setInterval(() => {
      if (rolling) return;
      rolling = true;
      void (async () => {
        for (const service of await listServices()) {
          const { name, generation } = service.metadata;
          if (running.get(name) === generation) continue;
          running.set(name, generation);
          await reportReady(name, generation);
          await replaceStage(name);
        }
      })()
        .catch(() => undefined)
        .finally(() => (rolling = false));
    }, 1_000);

    // The sources' adapters, from the Deployments Knative's controller made for them.
    const sourceDeployment = await eventually('the ApiServerSource adapter Deployment', 60_000, async () => {
      const name = await kubectl(
        'get',
        'deployment',
        '-n',
        NAMESPACE,
        '-l',
        'eventing.knative.dev/sourceName=qpipe-resources',
        '-o',
        'jsonpath={.items[0].metadata.name}',
      );
      return name || undefined;
    });
    // Knative's controller rewrites it when a namespace gains the label: it rolls out again.
    source = await live.follow(NAMESPACE, sourceDeployment);
    const watching = () =>
      eventually('the ApiServerSource adapter watching', 60_000, async () =>
        source?.current().output().includes('Starting in resilient mode') ? true : undefined,
      );
    await watching();
    await eventually('the PingSource adapter scaled up', 60_000, async () =>
      Number(
        await kubectl(
          'get',
          'deployment',
          '-n',
          'knative-eventing',
          'pingsource-mt-adapter',
          '-o',
          'jsonpath={.spec.replicas}',
        ),
      ) >= 1
        ? true
        : undefined,
    );
    await live.runDeployment('knative-eventing', 'pingsource-mt-adapter');
    for (const kind of ['broker', 'trigger', 'apiserversource', 'pingsource', 'sinkbinding']) {
      await kubectl('wait', '--for=condition=Ready', kind, '--all', '-n', NAMESPACE, '--timeout=90s');
    }

    const stageOf = (host: string) => [...ports.keys()].find((name) => stageHost(name) === host);
    return {
      api: live.api,
      s3,
      platform: live,
      pods,
      bucket,
      ingressUrl: live.ingressUrl,
      deliveries: () =>
        live.requests.flatMap((r) => {
          const stage = stageOf(r.host);
          return stage ? [{ ...r, stage: stage.replace(/^qpipe-/, '') }] : [];
        }),
      arrivals: () =>
        live.sent.flatMap((r) => {
          const stage = stageOf(r.host);
          return stage ? [{ ...r, stage: stage.replace(/^qpipe-/, '') }] : [];
        }),
      sentToBroker: () => live.requests.filter((r) => r.host.startsWith('broker-ingress.')),
      resend: async (request) =>
        (
          await fetch(`${live.ingressUrl}/${NAMESPACE}/qpipe`, {
            method: 'POST',
            headers: request.headers,
            body: request.body,
          })
        ).status,
      source: () => (source as Workload).current(),
      kubectl,
      restart: replaceStage,
      enableNamespace: async (namespace) => {
        await kubectl('label', 'namespace', namespace, 'qpipe.io/jobs=enabled', '--overwrite');
        const watched = new RegExp(`Namespaces:\\[\\]string\\{[^}]*\\b${namespace}\\b`);
        await eventually(`the ApiServerSource adapter watching ${namespace}`, 60_000, async () => {
          const output = source?.current().output() ?? '';
          return watched.test(output) && output.includes('Starting in resilient mode') ? true : undefined;
        });
      },
      stopSource: async () => source?.stop(),
      startSource: async () => {
        await source?.start();
        await watching();
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

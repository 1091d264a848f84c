/**
 * A Knative deployment of qpipe assembled from what `kubectl kustomize infra/knative`
 * renders, on real servers where they can run here: a real kube-apiserver (with RBAC, each
 * stage acting as its own ServiceAccount) and MinIO for shared storage; Knative's own
 * parts, which need a cluster, are emulations that follow their code: the ApiServerSource
 * receive adapter (an update per status write, at most once) and the Broker (the rendered
 * Triggers' filters, the Broker's retry policy, the dead-letter sink). Each stage runs as
 * the image starts it (`qpipe serve --stage`), with its Service's env, the ConfigMap, its
 * own scratch folder (one filesystem per pod) and K_SINK pointing at the broker.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Stage } from '../../events/types.ts';
import { type ApiServerSourceEmulation, type ApiServerSourceSpec, startApiServerSource } from './apiserver-source.ts';
import { type KubeApiServer, startKubeApiServer } from './kube-apiserver.ts';
import { type MinioServer, startMinio } from './minio.ts';
import { brokerRetryPolicy, type Relay, startRelay } from './relay.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/qpipe.js');

interface Rendered {
  readonly kind: string;
  readonly apiVersion: string;
  readonly metadata: { readonly name: string };
  readonly data?: Record<string, string>;
  readonly spec?: Record<string, unknown>;
}

interface ContainerSpec {
  readonly env: { readonly name: string; readonly value: string }[];
  readonly envFrom?: { readonly secretRef?: { readonly name: string } }[];
}

/** One stage process. */
export interface StagePod {
  readonly name: string;
  readonly url: string;
  readonly process: ChildProcess;
  readonly output: () => string;
}

/** The assembled deployment. */
export interface KnativeCluster {
  readonly api: KubeApiServer;
  readonly s3: MinioServer;
  readonly broker: Relay;
  readonly source: ApiServerSourceEmulation;
  readonly pods: Map<string, StagePod>;
  readonly bucket: string;
  /** Runs kubectl as the cluster administrator (as a user would); asynchronous, so the emulations here keep running. */
  kubectl(...args: string[]): Promise<string>;
  /** Kills a stage's process (SIGKILL) and starts a new one in its place, as Kubernetes would. */
  restart(service: string): Promise<void>;
  stop(): Promise<void>;
}

/** The rendered Knative manifests. */
export function renderedKnative(): Rendered[] {
  const text = execFileSync('kubectl', ['kustomize', join(ROOT, 'infra/knative')], { encoding: 'utf8' });
  return parseAllDocuments(text).map((d) => d.toJS() as Rendered);
}

function container(service: Rendered): ContainerSpec {
  const template = (service.spec as { template: { spec: { containers: ContainerSpec[] } } }).template;
  return template.spec.containers[0] as ContainerSpec;
}

function serviceAccountOf(service: Rendered): string {
  return (service.spec as { template: { spec: { serviceAccountName: string } } }).template.spec.serviceAccountName;
}

/** Starts everything; `configOverrides` change ConfigMap values (shorter timers in tests). */
export async function startKnativeCluster(
  options: {
    readonly configOverrides?: Record<string, string>;
    readonly retry?: { attempts: number; backoffMs: number };
    /** How often the PingSource emulation ticks the timer (the manifest's schedule is once a minute). */
    readonly tickMs?: number;
  } = {},
): Promise<KnativeCluster> {
  const rendered = renderedKnative();
  const bucket = 'qpipe';
  const [api, s3] = await Promise.all([startKubeApiServer(), startMinio([bucket])]);
  const admin = await api.kubeconfig();
  const kubectl = async (...args: string[]) =>
    (await promisify(execFile)('kubectl', ['--kubeconfig', admin, ...args], { encoding: 'utf8' })).stdout;
  // Everything Kubernetes itself serves; Knative's kinds need Knative, which is emulated below.
  const plain = rendered.filter((d) => !d.apiVersion.includes('knative.dev'));
  execFileSync('kubectl', ['--kubeconfig', admin, 'apply', '-f', '-'], {
    input: plain.map((d) => JSON.stringify(d)).join('\n'),
    encoding: 'utf8',
  });
  await kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=30s');

  const configMap = rendered.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'qpipe-config');
  const config = { ...configMap?.data, ...s3.env(bucket), ...options.configOverrides };
  const pods = new Map<string, StagePod>();
  const broker = await startRelay(
    new Map(),
    options.retry ?? brokerRetryPolicy(),
    () => pods.get('qpipe-dead-letters')?.url,
  );
  const scratch = await mkdtemp(join(tmpdir(), 'qpipe-pods-'));
  const services = rendered.filter((d) => d.kind === 'Service' && d.apiVersion.startsWith('serving.knative.dev'));

  const startPod = async (service: Rendered): Promise<StagePod> => {
    const spec = container(service);
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      HOME: scratch,
      ...config,
      ...Object.fromEntries(spec.env.map((e) => [e.name, e.value])),
      KUBECONFIG: await api.kubeconfig(serviceAccountOf(service)),
      K_SINK: broker.url,
      PORT: '0',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      LOG_LEVEL: process.env['QPIPE_TEST_POD_LOG_LEVEL'] ?? 'warn',
    };
    // One filesystem per pod: the emptyDir /tmp.
    env['QPIPE_STORE'] = await mkdtemp(join(scratch, `${service.metadata.name}-`));
    delete env['QPIPE_METRICS_PORT'];
    // The image's CMD: node bin/qpipe.js serve --stage "$QPIPE_STAGE" --host 0.0.0.0 --port "$PORT".
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--stage', env['QPIPE_STAGE'] ?? '', '--host', '127.0.0.1', '--port', env['PORT'] ?? '0'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = /listening on (http:\/\/\S+)/.exec(output)?.[1];
        if (found) resolve(found);
      };
      child.stdout.on('data', check);
      child.once('exit', (code) => reject(new Error(`${service.metadata.name} exited with ${code}: ${output}`)));
    });
    return { name: service.metadata.name, url, process: child, output: () => output };
  };
  const register = (pod: StagePod) => {
    pods.set(pod.name, pod);
    broker.routes.set(pod.name.replace(/^qpipe-/, '') as Stage, pod.url);
  };
  for (const pod of await Promise.all(services.map(startPod))) register(pod);

  // The PingSource: a `dev.knative.sources.ping` event with the manifest's data to its sink.
  const ping = rendered.find((d) => d.kind === 'PingSource');
  const pingSink = (ping?.spec as { sink: { ref: { name: string } } } | undefined)?.sink.ref.name ?? '';
  const ticker = setInterval(() => {
    const target = pods.get(pingSink)?.url;
    if (!target) return;
    void fetch(target, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': crypto.randomUUID(),
        'ce-type': 'dev.knative.sources.ping',
        'ce-source': `/apis/v1/namespaces/qpipe/pingsources/${ping?.metadata.name}`,
        'content-type': 'application/json',
      },
      body: (ping?.spec as { data?: string } | undefined)?.data ?? '',
    }).catch(() => undefined);
  }, options.tickMs ?? 60_000);

  const sourceManifest = rendered.find((d) => d.kind === 'ApiServerSource');
  const source = await startApiServerSource({
    kubeconfig: await api.kubeconfig('qpipe-source'),
    sink: broker.url,
    spec: sourceManifest?.spec as unknown as ApiServerSourceSpec,
    apiServer: api.url,
  });

  return {
    api,
    s3,
    broker,
    source,
    pods,
    bucket,
    kubectl,
    restart: async (name) => {
      const pod = pods.get(name);
      const service = services.find((s) => s.metadata.name === name);
      if (!pod || !service) throw new Error(`no pod ${name}`);
      pod.process.kill('SIGKILL');
      register(await startPod(service));
    },
    stop: async () => {
      clearInterval(ticker);
      source.stop();
      for (const pod of pods.values()) pod.process.kill('SIGKILL');
      await broker.close();
      await Promise.all([api.stop(), s3.close()]);
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * Knative's real control and data plane as local processes on a real kube-apiserver: Knative
 * Eventing (controller, webhook, MT-channel broker with ingress and filter, in-memory channel
 * controller and dispatcher, and the source adapters its controller deploys) and Serving's
 * webhook (KService defaulting and validation), built from the vendored sources by
 * test/tools/build-knative.sh. Each process starts from its Deployment as stored in the API
 * server (its env, its ServiceAccount's token, so Knative's own RBAC is enforced) in a network
 * namespace of its own with only loopback: ports Knative hard-codes (:8080, :8443) cannot
 * clash, and nothing can reach an address off the machine. Cluster names (*.svc.cluster.local)
 * go through one forward proxy (the pods' HTTP_PROXY), which logs every request it carries.
 *
 * What kubelet, the controller manager and Serving's controller would do is emulated, and
 * named so: Deployment status and EndpointSlices for the processes that run, the aggregation
 * of aggregated ClusterRoles, and a KService's status (its cluster address). Serving's data
 * plane (activator, queue-proxy, autoscaler) does not run: a KService's address leads to the
 * process started from it (knative-cluster.ts).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  BRIDGE,
  freePort,
  type KubeApiServer,
  prometheusOperatorCrds,
  PROXY_PORT_IN_NAMESPACE,
  startKubeApiServer,
  toolsCache,
  writeKubeconfig,
} from './kube-apiserver.ts';

export const EVENTING = 'knative-eventing-8cf4c4b67';
export const SERVING = 'knative-serving-98e5ef90aa';
const SYSTEM = 'knative-eventing';
/** Written into EndpointSlices (loopback is refused there); never dialled: documentation range. */
const ENDPOINT_ADDRESS = '198.51.100.10';

/** Why the real Knative processes cannot run here, or undefined when they can. */
export function knativeMissing(): string | undefined {
  const missing = [EVENTING, SERVING]
    .filter((release) => !existsSync(join(toolsCache(), release, '.complete')))
    .concat(existsSync(prometheusOperatorCrds()) ? [] : ['prometheus-operator-crds (test/tools/build-servers.sh)']);
  return missing.length === 0
    ? undefined
    : `${missing.join(' and ')} not built in ${toolsCache()} (run test/tools/build-knative.sh; .ci/run does)`;
}

/** A request as it reached the proxy: a CloudEvent in binary mode. */
export interface SentRequest {
  readonly at: number;
  readonly host: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** One request the proxy carried and its answer (a delivery, a send to the broker, a source's event). */
export interface ProxiedRequest {
  readonly at: number;
  readonly host: string;
  readonly path: string;
  readonly type?: string;
  readonly subject?: string;
  readonly source?: string;
  readonly id?: string;
  readonly status: number;
  readonly ms: number;
}

/** A process started from a Deployment. */
export interface Pod {
  readonly name: string;
  readonly process: ChildProcess;
  readonly output: () => string;
}

/** A Deployment whose process follows its rollouts, as the Deployment controller and kubelet would. */
export interface Workload {
  current(): Pod;
  /** Stops the process (an outage) until `start`. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface KnativePlatform {
  readonly api: KubeApiServer;
  /** Host-side address of the broker ingress (what a producer outside the cluster posts to). */
  readonly ingressUrl: string;
  /** Every request the proxy carried so far, in the order they were answered. */
  readonly requests: ProxiedRequest[];
  /** Every request the proxy received so far, answered or not, in the order they arrived. */
  readonly sent: SentRequest[];
  kubectl(...args: string[]): Promise<string>;
  /** kubectl with a manifest on stdin. */
  kubectlInput(input: string, ...args: string[]): Promise<string>;
  /** A kubeconfig acting as the ServiceAccount, with a token from the TokenRequest API. */
  serviceAccountKubeconfig(namespace: string, account: string): Promise<string>;
  /** A container's environment as kubelet gives it: values, field and key references, envFrom. */
  containerEnv(namespace: string, pod: string, container: Container): Promise<Record<string, string>>;
  /** Starts the process of a Deployment (a Knative image), as its pod would run. */
  runDeployment(namespace: string, deployment: string): Promise<Pod>;
  /** Runs a Deployment's process and restarts it with the new environment whenever its spec changes. */
  follow(namespace: string, deployment: string): Promise<Workload>;
  /** Writes an object's status, as the controller that owns it would. */
  patchStatus(resource: string, namespace: string, name: string, status: object): Promise<void>;
  /** Reports what kubelet and the endpoint controller would for a Deployment whose process runs. */
  markRunning(namespace: string, deployment: string): Promise<void>;
  /** Fills aggregated ClusterRoles, as the controller manager's aggregation controller would. */
  aggregateClusterRoles(): Promise<void>;
  stop(): Promise<void>;
}

/** Routes of the proxy: cluster host name (or `*.suffix`) to a loopback TCP port or unix socket. */
export type Routes = Record<string, string>;

interface Deployment {
  metadata: { name: string; namespace: string };
  spec: {
    replicas?: number;
    template: {
      metadata?: { labels?: Record<string, string> };
      spec: { serviceAccountName?: string; containers: Container[] };
    };
  };
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

export interface Container {
  image: string;
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string; optional?: boolean } }[];
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it gives a value, or fails naming `what`. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await wait(250);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
  );
}

/** The binary a Knative image (ko://knative.dev/<repo>/cmd/<name>) stands for. */
function binaryOf(image: string): string {
  const match = /^ko:\/\/knative\.dev\/(eventing|serving)\/cmd\/(.+)$/.exec(image);
  if (!match) throw new Error(`not a Knative image: ${image}`);
  const release = match[1] === 'eventing' ? EVENTING : SERVING;
  return join(toolsCache(), release, 'bin', (match[2] as string).replaceAll('/', '_'));
}

/**
 * Starts the proxy, kube-apiserver and Knative. `routes` adds the proxy's routes to the
 * caller's own services (the stages); the broker ingress is also served on a host port
 * (`ingressUrl`), for producers that cannot use a proxy (Node's fetch, the stages' K_SINK).
 */
export async function startKnativePlatform(options: { routes: Routes }): Promise<KnativePlatform> {
  // Short: a unix socket's path has at most 107 bytes.
  const run = await mkdtemp('/tmp/kn-');
  const sock = (name: string) => join(run, name);
  const children: ChildProcess[] = [];
  const requests: ProxiedRequest[] = [];
  const sent: SentRequest[] = [];
  const ingressPort = await freePort();

  // The proxy: the pods' HTTP_PROXY, the API server's HTTPS_PROXY (webhooks, by CONNECT).
  const route = (host: string, target: string) => ['--route', `${host}=${target}`];
  const system = (service: string) => `${service}.${SYSTEM}.svc.cluster.local`;
  const proxy = spawn(
    process.execPath,
    [
      BRIDGE,
      '--log',
      ...['--proxy', `unix:${sock('proxy')}`],
      ...['--serve', `tcp:127.0.0.1:${ingressPort}=${system('broker-ingress')}`],
      ...route(system('broker-ingress'), `unix:${sock('mt-broker-ingress-8080')}`),
      ...route(system('broker-filter'), `unix:${sock('mt-broker-filter-8080')}`),
      ...Object.entries(options.routes).flatMap(([host, target]) => route(host, target)),
      // Channel hosts (<broker>-kne-trigger-kn-channel.<ns>.svc.cluster.local) are the dispatcher's.
      ...route('*.svc.cluster.local', `unix:${sock('imc-dispatcher-8080')}`),
      ...['--connect', `eventing-webhook.${SYSTEM}.svc:443=unix:${sock('eventing-webhook-8443')}`],
      ...['--connect', `inmemorychannel-webhook.${SYSTEM}.svc:443=unix:${sock('imc-controller-8443')}`],
      ...['--connect', `webhook.knative-serving.svc:443=unix:${sock('webhook-8443')}`],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(proxy);
  let proxyOutput = '';
  proxy.stdout.on('data', (chunk: Buffer) => {
    proxyOutput += chunk.toString();
    let newline: number;
    while ((newline = proxyOutput.indexOf('\n')) >= 0) {
      const line = proxyOutput.slice(0, newline);
      proxyOutput = proxyOutput.slice(newline + 1);
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { phase: string };
      if (entry.phase === 'sent') sent.push(entry as unknown as SentRequest);
      else requests.push(entry as unknown as ProxiedRequest);
    }
  });
  const pods: Pod[] = [];
  const timers: NodeJS.Timeout[] = [];
  const stop = async () => {
    for (const timer of timers) clearInterval(timer);
    for (const child of [...pods.map((p) => p.process), ...children].reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const exited = new Promise((r) => child.once('exit', r));
        if (!(await Promise.race([exited.then(() => true), wait(10_000).then(() => false)]))) {
          child.kill('SIGKILL');
          await exited;
        }
      }
    }
    await api?.stop();
    await rm(run, { recursive: true, force: true });
  };

  let api: KubeApiServer | undefined;
  try {
    api = await startKubeApiServer({ socketDir: run, proxySocket: sock('proxy') });
    const admin = await api.kubeconfig();
    const exec = promisify(execFile);
    const kubectl = async (...args: string[]) =>
      (await exec('kubectl', ['--kubeconfig', admin, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 })).stdout;
    const kubectlInput = (input: string, ...args: string[]) =>
      new Promise<string>((resolve, reject) => {
        const child = execFile(
          'kubectl',
          ['--kubeconfig', admin, ...args],
          { encoding: 'utf8', maxBuffer: 64 << 20 },
          (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
        );
        child.stdin?.end(input);
      });
    const getJson = async <T>(...args: string[]) => JSON.parse(await kubectl('get', ...args, '-o', 'json')) as T;

    const kubeconfigs = new Map<string, string>();
    const serviceAccountKubeconfig = async (namespace: string, account: string) => {
      const key = `${namespace}-${account}`;
      const known = kubeconfigs.get(key);
      if (known) return known;
      await kubectl('create', 'serviceaccount', '-n', namespace, account).catch(() => undefined);
      const token = (await kubectl('create', 'token', '-n', namespace, account, '--duration=24h')).trim();
      const path = join(run, `kubeconfig-${key}`);
      await writeKubeconfig(path, api?.url ?? '', account, token, namespace);
      kubeconfigs.set(key, path);
      return path;
    };

    const resolveEnv = async (namespace: string, pod: string, container: Container) => {
      const env: Record<string, string> = {};
      const configMaps = new Map<string, Record<string, string>>();
      const data = async (kind: 'configmap' | 'secret', name: string) => {
        const key = `${kind}/${name}`;
        if (!configMaps.has(key)) {
          const object = await getJson<{ data?: Record<string, string> }>(kind, '-n', namespace, name).catch(() => ({
            data: undefined,
          }));
          const values = object.data ?? {};
          configMaps.set(
            key,
            kind === 'secret'
              ? Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))
              : values,
          );
        }
        return configMaps.get(key) ?? {};
      };
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef) Object.assign(env, await data('configmap', source.configMapRef.name));
        if (source.secretRef) Object.assign(env, await data('secret', source.secretRef.name));
      }
      for (const variable of container.env ?? []) {
        const from = variable.valueFrom;
        if (!from) env[variable.name] = variable.value ?? '';
        else if (from.fieldRef)
          env[variable.name] = { 'metadata.namespace': namespace, 'metadata.name': pod }[from.fieldRef.fieldPath] ?? '';
        else if (from.configMapKeyRef)
          env[variable.name] = (await data('configmap', from.configMapKeyRef.name))[from.configMapKeyRef.key] ?? '';
        else if (from.secretKeyRef)
          env[variable.name] = (await data('secret', from.secretKeyRef.name))[from.secretKeyRef.key] ?? '';
      }
      return env;
    };

    const patchStatus = async (resource: string, namespace: string, name: string, status: object) => {
      await kubectl(
        'patch',
        resource,
        '-n',
        namespace,
        name,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status }),
      );
    };

    const markRunning = async (namespace: string, name: string) => {
      const deployment = await getJson<Deployment & { metadata: { generation: number } }>(
        'deployment',
        '-n',
        namespace,
        name,
      );
      const replicas = Math.max(deployment.spec.replicas ?? 1, 1);
      const note = 'local process (test/support/knative-platform.ts)';
      await patchStatus('deployment', namespace, name, {
        observedGeneration: deployment.metadata.generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        conditions: [
          { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: note },
          { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: note },
        ],
      });
      const labels = deployment.spec.template.metadata?.labels ?? {};
      const services = await getJson<{
        items: {
          metadata: { name: string };
          spec: {
            selector?: Record<string, string>;
            ports: { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
          };
        }[];
      }>('services', '-n', namespace);
      for (const service of services.items) {
        const selector = Object.entries(service.spec.selector ?? {});
        if (selector.length === 0 || !selector.every(([k, v]) => labels[k] === v)) continue;
        await kubectlInput(
          JSON.stringify({
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            metadata: {
              name: `${service.metadata.name}-local`,
              namespace,
              labels: { 'kubernetes.io/service-name': service.metadata.name },
            },
            addressType: 'IPv4',
            endpoints: [
              { addresses: [ENDPOINT_ADDRESS], conditions: { ready: true, serving: true, terminating: false } },
            ],
            ports: service.spec.ports.map((p) => ({
              name: p.name ?? '',
              protocol: p.protocol ?? 'TCP',
              port: typeof p.targetPort === 'number' ? p.targetPort : p.port,
            })),
          }),
          'apply',
          '-f',
          '-',
        );
      }
    };

    const runDeployment = async (namespace: string, name: string): Promise<Pod> => {
      const deployment = await getJson<Deployment>('deployment', '-n', namespace, name);
      const container = deployment.spec.template.spec.containers[0] as Container;
      const podName = `${name}-local`;
      const env = await resolveEnv(namespace, podName, container);
      const kubeconfig = await serviceAccountKubeconfig(
        namespace,
        deployment.spec.template.spec.serviceAccountName ?? 'default',
      );
      const apiPort = new URL(api?.url ?? '').port;
      const child = spawn(
        'unshare',
        [
          '-n',
          process.execPath,
          BRIDGE,
          '--netns',
          ...['--fwd', `tcp:127.0.0.1:${apiPort}=unix:${sock('apiserver')}`],
          ...['--fwd', `tcp:127.0.0.1:${PROXY_PORT_IN_NAMESPACE}=unix:${sock('proxy')}`],
          ...['--fwd', `unix:${sock(`${name}-8080`)}=tcp:127.0.0.1:8080`],
          ...['--fwd', `unix:${sock(`${name}-8443`)}=tcp:127.0.0.1:8443`],
          '--',
          binaryOf(container.image),
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...env,
            PATH: process.env['PATH'] ?? '',
            HOME: run,
            KUBECONFIG: kubeconfig,
            HTTP_PROXY: `http://127.0.0.1:${PROXY_PORT_IN_NAMESPACE}`,
            NO_PROXY: '127.0.0.1,localhost',
          },
        },
      );
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-200_000)));
      child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-200_000)));
      const pod = { name, process: child, output: () => output };
      pods.push(pod);
      await markRunning(namespace, name);
      return pod;
    };

    const terminate = async (pod: Pod) => {
      if (pod.process.exitCode !== null || pod.process.signalCode !== null) return;
      const exited = new Promise((r) => pod.process.once('exit', r));
      pod.process.kill('SIGTERM');
      await exited;
    };
    const follow = async (namespace: string, name: string): Promise<Workload> => {
      const generation = async () =>
        kubectl('get', 'deployment', '-n', namespace, name, '-o', 'jsonpath={.metadata.generation}');
      let pod: Pod | undefined;
      let seen = '';
      let running = false;
      const start = async () => {
        seen = await generation();
        pod = await runDeployment(namespace, name);
        running = true;
      };
      const timer = setInterval(() => {
        if (!running) return;
        void generation()
          .then(async (now) => {
            if (!running || now === seen || !pod) return;
            running = false;
            await terminate(pod);
            await start();
          })
          .catch(() => undefined);
      }, 1_000);
      timers.push(timer);
      await start();
      return {
        current: () => pod as Pod,
        stop: async () => {
          running = false;
          if (pod) await terminate(pod);
        },
        start,
      };
    };

    const aggregateClusterRoles = async () => {
      interface Role {
        metadata: { name: string; labels?: Record<string, string> };
        rules?: unknown[];
        aggregationRule?: { clusterRoleSelectors: { matchLabels?: Record<string, string> }[] };
      }
      for (let pass = 0; pass < 2; pass++) {
        const roles = (await getJson<{ items: Role[] }>('clusterroles')).items;
        for (const role of roles) {
          if (!role.aggregationRule || role.metadata.labels?.['kubernetes.io/bootstrapping'] === 'rbac-defaults')
            continue;
          const selected = roles.filter(
            (other) =>
              other.metadata.name !== role.metadata.name &&
              role.aggregationRule?.clusterRoleSelectors.some((s) => {
                const wanted = Object.entries(s.matchLabels ?? {});
                return wanted.length > 0 && wanted.every(([k, v]) => other.metadata.labels?.[k] === v);
              }),
          );
          const rules = [
            ...new Map(selected.flatMap((r) => r.rules ?? []).map((r) => [JSON.stringify(r), r])).values(),
          ];
          await kubectl('patch', 'clusterrole', role.metadata.name, '--type=merge', '-p', JSON.stringify({ rules }));
        }
      }
    };

    const eventing = join(toolsCache(), EVENTING, 'config');
    const serving = join(toolsCache(), SERVING, 'config');
    const files = (...paths: string[]) => paths.flatMap((p) => ['-f', p]);
    await kubectl(
      'apply',
      ...files(join(eventing, 'core/100-namespace.yaml'), join(serving, 'core/100-namespace.yaml')),
    );
    await kubectl(
      'apply',
      ...files(
        ...[
          'core/200-eventing-serviceaccount.yaml',
          'core/200-pingsource-mt-adapter-serviceaccount.yaml',
          'core/200-webhook-serviceaccount.yaml',
          'channels/in-memory-channel/200-imc-controller-serviceaccount.yaml',
          'channels/in-memory-channel/200-imc-dispatcher-serviceaccount.yaml',
          'core/roles',
          'channels/in-memory-channel/roles',
          'brokers/mt-channel-broker/roles',
          'core/configmaps',
          'channels/in-memory-channel/configmaps',
        ].map((p) => join(eventing, p)),
        ...['core/200-serviceaccount.yaml', 'core/200-roles', 'core/configmaps'].map((p) => join(serving, p)),
      ),
    );
    await aggregateClusterRoles();
    await kubectl(
      'apply',
      '--server-side',
      ...files(
        join(eventing, 'core/resources'),
        join(eventing, 'channels/in-memory-channel/resources'),
        join(serving, 'core/300-resources'),
      ),
    );
    await kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s');
    await kubectl(
      'apply',
      ...files(
        ...[
          'core/deployments/controller.yaml',
          'core/deployments/webhook.yaml',
          'core/deployments/pingsource-mt-adapter.yaml',
          'channels/in-memory-channel/deployments',
          'brokers/mt-channel-broker/deployments',
          'core/webhooks/secret.yaml',
          'channels/in-memory-channel/webhooks/secret.yaml',
        ].map((p) => join(eventing, p)),
        join(serving, 'core/deployments/webhook.yaml'),
        join(serving, 'core/webhooks/secret.yaml'),
      ),
    );

    // The webhooks first: the others' objects are defaulted, validated and converted by them.
    await runDeployment(SYSTEM, 'eventing-webhook');
    await runDeployment('knative-serving', 'webhook');
    for (const name of [
      'eventing-controller',
      'mt-broker-controller',
      'imc-controller',
      'imc-dispatcher',
      'mt-broker-ingress',
      'mt-broker-filter',
    ]) {
      await runDeployment(SYSTEM, name);
    }
    await kubectl(
      'apply',
      ...files(
        ...[
          'core/webhooks/defaulting.yaml',
          'core/webhooks/resource-validation.yaml',
          'core/webhooks/config-validation.yaml',
          'core/webhooks/sinkbindings.yaml',
          'channels/in-memory-channel/webhooks/defaulting.yaml',
          'channels/in-memory-channel/webhooks/resource-validation.yaml',
        ].map((p) => join(eventing, p)),
        join(serving, 'core/webhooks/defaulting.yaml'),
        join(serving, 'core/webhooks/resource-validation.yaml'),
      ),
    );
    // Each webhook writes its own CA bundle and rules into its configuration once it runs.
    for (const configuration of [
      'mutatingwebhookconfiguration/webhook.eventing.knative.dev',
      'validatingwebhookconfiguration/validation.webhook.eventing.knative.dev',
      'mutatingwebhookconfiguration/sinkbindings.webhook.sources.knative.dev',
      'mutatingwebhookconfiguration/inmemorychannel.eventing.knative.dev',
      'validatingwebhookconfiguration/validation.inmemorychannel.eventing.knative.dev',
      'mutatingwebhookconfiguration/webhook.serving.knative.dev',
      'validatingwebhookconfiguration/validation.webhook.serving.knative.dev',
    ]) {
      await eventually(`${configuration} registered by its webhook`, 90_000, async () => {
        const text = await kubectl(
          'get',
          configuration,
          '-o',
          'jsonpath={.webhooks[0].clientConfig.caBundle}{"|"}{.webhooks[0].rules[0].resources[0]}',
        );
        const [bundle, resource] = text.split('|');
        // The SinkBinding webhook's rules name the kinds of existing bindings' subjects: none yet.
        return bundle && (resource || configuration.includes('sinkbindings')) ? true : undefined;
      });
    }
    const probe = `http://127.0.0.1:${ingressPort}`;
    await eventually('the broker ingress', 60_000, async () =>
      (await fetch(probe, { headers: { 'user-agent': 'kube-probe/1.36' } })).ok ? true : undefined,
    );
    return {
      api,
      ingressUrl: probe,
      requests,
      sent,
      kubectl,
      kubectlInput,
      serviceAccountKubeconfig,
      containerEnv: resolveEnv,
      runDeployment,
      follow,
      patchStatus,
      markRunning,
      aggregateClusterRoles,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

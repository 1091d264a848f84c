/**
 * A real Kubernetes API server for tests: kube-apiserver on etcd, both built from the Go
 * module proxy by test/tools/build-servers.sh into a cache outside the repository. RBAC is
 * on; identities come from a static token file, so each stage can act as its own
 * ServiceAccount and the repository's RBAC is enforced for real.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Versions test/tools/build-servers.sh builds. */
const KUBE_VERSION = '1.36.3';
const ETCD_VERSION = '3.6.8';

/** Folder the build script caches binaries in. */
export function toolsCache(): string {
  return process.env['QPIPE_TOOLS_CACHE'] ?? join(homedir(), '.cache', 'qpipe-tools');
}

/**
 * Why a real server cannot run here, or undefined when it can. CI builds every server
 * first (.ci/run), so there a missing one is a failure, never a skip.
 */
export function unavailableUnlessCi(reason: string | undefined): string | undefined {
  return process.env['CI'] === 'true' ? undefined : reason;
}

/** The Prometheus Operator's CRDs (PodMonitor, PrometheusRule, ...) build-servers.sh keeps, for dry runs. */
export function prometheusOperatorCrds(): string {
  return join(toolsCache(), 'prometheus-operator-crds-v0.85.0');
}

/** Why the real API server cannot run here, or undefined when it can. */
export function kubeApiServerMissing(): string | undefined {
  const missing = [`kube-apiserver-v${KUBE_VERSION}`, `etcd-${ETCD_VERSION}`].filter(
    (name) => !existsSync(join(toolsCache(), name)),
  );
  return unavailableUnlessCi(
    missing.length === 0
      ? undefined
      : `${missing.join(' and ')} not built in ${toolsCache()} (run test/tools/build-servers.sh; .ci/run does)`,
  );
}

/** A free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A running API server. */
export interface KubeApiServer {
  readonly url: string;
  /** Writes a kubeconfig acting as `user` (see TOKENS) and returns its path. */
  kubeconfig(user?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Static identities: the administrator, and each qpipe ServiceAccount. */
const SERVICE_ACCOUNTS = [
  'qpipe-reader',
  'qpipe-budget',
  'qpipe-execute',
  'qpipe-status',
  'qpipe-notify',
  'qpipe-source',
  'qpipe-timer',
  'qpipe-bridge',
];

function tokenFile(): string {
  const lines = ['admin-token,admin,admin,system:masters'];
  for (const account of SERVICE_ACCOUNTS) {
    lines.push(
      `${account}-token,system:serviceaccount:qpipe:${account},${account},"system:serviceaccounts,system:serviceaccounts:qpipe,system:authenticated"`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function started(child: ChildProcess, name: string, log: string[]): Promise<never> {
  return new Promise((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${log.join('').slice(-3000)}`))),
  );
}

async function waitUntil(check: () => Promise<boolean>, failed: Promise<never>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const poll = async () => {
    while (Date.now() < deadline) {
      if (await check().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`not ready within ${timeoutMs} ms`);
  };
  await Promise.race([poll(), failed]);
}

/** Where a kube-apiserver in a network namespace of its own meets the host (loopback-bridge.mjs). */
export interface ApiServerIsolation {
  /** Folder of the unix sockets bridged into and out of the namespaces (short: a socket path has 107 bytes). */
  readonly socketDir: string;
  /** Unix socket of the forward proxy that carries the API server's webhook calls (its HTTPS_PROXY). */
  readonly proxySocket: string;
}

/** The bridge that runs a process in a network namespace of its own, and the port its proxy has in there. */
export const BRIDGE = new URL('./loopback-bridge.mjs', import.meta.url).pathname;
export const PROXY_PORT_IN_NAMESPACE = 18000;

/** Why processes cannot get network namespaces of their own here, or undefined when they can. */
export function networkNamespacesMissing(): string | undefined {
  try {
    execFileSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'network namespaces unavailable (unshare -n needs root and ip from iproute2)';
  }
}

/**
 * Starts etcd and kube-apiserver on free loopback ports in a fresh folder. With `isolation`,
 * kube-apiserver runs in a network namespace that has only loopback: etcd is bridged in, its
 * port bridged out, and the webhooks it calls at Service addresses (ClusterIPs off this
 * machine) are reached only through the proxy's CONNECT allow-list.
 */
export async function startKubeApiServer(isolation?: ApiServerIsolation): Promise<KubeApiServer> {
  const dir = await mkdtemp(join(tmpdir(), 'qpipe-kube-'));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const logs: string[] = [];
  const keep = (child: ChildProcess) => {
    child.stdout?.on('data', (c: Buffer) => logs.push(c.toString()));
    child.stderr?.on('data', (c: Buffer) => logs.push(c.toString()));
    return child;
  };
  const etcd = keep(
    spawn(
      join(toolsCache(), `etcd-${ETCD_VERSION}`),
      [
        '--data-dir',
        join(dir, 'etcd'),
        '--listen-client-urls',
        `http://127.0.0.1:${etcdPort}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${etcdPort}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peerPort}`,
        '--initial-cluster',
        `default=http://127.0.0.1:${peerPort}`,
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  const children = [etcd];
  const stop = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok,
      started(etcd, 'etcd', logs),
      20_000,
    );
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(join(dir, 'tokens.csv'), tokenFile());
    const apiArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--enable-priority-and-fairness=false',
      '--v=0',
    ];
    const binary = join(toolsCache(), `kube-apiserver-v${KUBE_VERSION}`);
    if (isolation) {
      const socket = (name: string) => `unix:${join(isolation.socketDir, name)}`;
      const hostSide = keep(
        spawn(process.execPath, [
          BRIDGE,
          ...['--fwd', `${socket('etcd')}=tcp:127.0.0.1:${etcdPort}`],
          ...['--fwd', `tcp:127.0.0.1:${apiPort}=${socket('apiserver')}`],
        ]),
      );
      children.push(hostSide);
      await waitUntil(async () => logs.join('').includes('bridge ready'), started(hostSide, 'bridge', logs), 10_000);
      const apiserver = keep(
        spawn(
          'unshare',
          [
            '-n',
            process.execPath,
            BRIDGE,
            '--netns',
            ...['--fwd', `tcp:127.0.0.1:${etcdPort}=${socket('etcd')}`],
            ...['--fwd', `tcp:127.0.0.1:${PROXY_PORT_IN_NAMESPACE}=unix:${isolation.proxySocket}`],
            ...['--fwd', `${socket('apiserver')}=tcp:127.0.0.1:${apiPort}`],
            '--',
            binary,
            ...apiArgs,
            // No interface to advertise in the namespace; a documentation address nothing dials.
            '--advertise-address=198.51.100.1',
          ],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
            env: {
              ...process.env,
              HTTPS_PROXY: `http://127.0.0.1:${PROXY_PORT_IN_NAMESPACE}`,
              NO_PROXY: '127.0.0.1,localhost',
            },
          },
        ),
      );
      children.push(apiserver);
    } else {
      children.push(keep(spawn(binary, apiArgs, { stdio: ['ignore', 'pipe', 'pipe'] })));
    }
    const apiserver = children[children.length - 1] as ChildProcess;
    const url = `https://127.0.0.1:${apiPort}`;
    await waitUntil(
      async () => {
        // The self-signed serving certificate is not trusted: ask with curl's -k equivalent.
        const { status } = await insecureGet(`${url}/readyz`, 'admin-token');
        return status === 200;
      },
      started(apiserver, 'kube-apiserver', logs),
      90_000,
    );
    return {
      url,
      kubeconfig: async (user = 'admin') => {
        const path = join(dir, `kubeconfig-${user}`);
        await writeKubeconfig(path, url, user, `${user}-token`);
        return path;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Writes a kubeconfig for `server` (its self-signed certificate not verified) acting with a bearer token. */
export async function writeKubeconfig(
  path: string,
  server: string,
  user: string,
  token: string,
  namespace = 'default',
): Promise<void> {
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user, namespace } }],
      'current-context': 'test',
    }),
  );
}

/** GET over HTTPS without verifying the server's self-signed certificate. */
async function insecureGet(url: string, token: string): Promise<{ status: number }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Waits until the API server lists every resource named (`qiskitjobs,qiskitbudgets`, ...) in all
 * namespaces: a new CRD is Established before its watch cache fills, and answers 429 until then.
 */
export async function waitUntilListed(kubeconfig: string, resources: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const listed = await promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, 'get', resources, '-A']).then(
      () => true,
      () => false,
    );
    if (listed) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${resources} still cannot be listed after 20 s`);
}

/**
 * qpipe's configuration, read once from environment variables (and CLI overrides) and
 * validated; an error names the bad setting.
 */
import { resolveSecretFiles } from './secrets.ts';
import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { ConfigError } from './errors.ts';
import { cpuQuota } from './simulator/cpu-quota.ts';
import { type CircuitLimits, DEFAULT_LIMITS } from './qasm/limits.ts';

/** Validated configuration of one process. */
export interface QpipeConfig {
  /** Folder of the embedded default's store (results, status, ledgers, outbox). */
  readonly storeDir: string;
  readonly circuitLimits: CircuitLimits;
  /** Circuits larger than this travel by reference, not inline in events. */
  readonly inlineCircuitBytes: number;
  /** Where `circuit.source: url` may fetch from; hosts unset means the runtime's default (none, or any public host for `qpipe run`). */
  readonly circuitUrls: {
    readonly hosts?: readonly string[];
    readonly allowedRanges: readonly string[];
    readonly timeoutMs: number;
  };
  readonly simulator: {
    readonly maxMemoryBytes: number;
    /** Largest circuit the memory limit allows. */
    readonly maxQubits: number;
    /** double (16 bytes per amplitude) or single (8, half the memory, about 7 significant digits). */
    readonly precision: 'double' | 'single';
    /** Worker threads for large states. */
    readonly threads: number;
    /** Widest fused gate block in qubits (0: no fusion); absent, the simulator's default. */
    readonly fusionWidth?: number;
    /** simd: WebAssembly SIMD kernels where the runtime has them (default); scalar: the JavaScript kernels. */
    readonly kernels: 'simd' | 'scalar';
  };
  /** When set, the timer ticks itself this often (a setup without a Knative PingSource). */
  readonly timerIntervalSeconds?: number;
  /** How long a job may sit in a phase that should pass in seconds before the timer requests it again. */
  readonly resyncAfterSeconds: number;
  /** How long an in-progress claim lasts without renewal: a crashed holder blocks duplicates this long at most. */
  readonly claimLeaseSeconds: number;
  /** Events `qpipe serve` holds (queued, running or waiting) before its ingress answers 503 with Retry-After. */
  readonly maxQueuedEvents: number;
  /** Attempts at one event before a stage gives up and ends its job (failed, reservation released); buses must retry at least this often. */
  readonly maxAttempts: number;
  /** How long a served stage works on one event before it stops the work and answers 503. */
  readonly stageTimeoutSeconds: number;
  /** Port a served stage answers /metrics on, apart from its request port; absent, the request port serves it. */
  readonly metricsPort?: number;
  /**
   * The qpipe installation's namespace: its QiskitBackends apply to every namespace
   * (QPIPE_NAMESPACE; on Kubernetes, the pod's own namespace; else "default").
   */
  readonly namespace: string;
  /** Where resources and status live: files (embedded) or the Kubernetes API (in-cluster or KUBECONFIG). */
  readonly cluster: 'local' | 'kubernetes';
  /** When set, results, circuits and ledgers go to this S3 bucket (standard AWS settings, AWS_ENDPOINT_URL_S3 included). */
  readonly s3?: { readonly bucket: string; readonly prefix: string; readonly forcePathStyle: boolean };
  /** Provider backends this deployment may run; each is off until its settings are given. */
  readonly providers: {
    readonly braket?: {
      /** Bucket Braket writes results to; `{region}` becomes the device's region. Default: the qpipe bucket. */
      readonly outputBucket: string;
      readonly outputPrefix: string;
      /** Completion arrives as EventBridge "Braket Task State Change" events; polling is only the slow fallback. */
      readonly stateChangeEvents: boolean;
      /**
       * Where devices whose ARN names no region (the on-demand simulators) run: a Braket region
       * (QPIPE_BRAKET_REGION), since the deployment's own may have no Braket. Absent: the AWS region.
       */
      readonly region?: string;
    };
    readonly ibm?: {
      readonly apiKey: string;
      readonly serviceCrn: string;
      readonly apiUrl: string;
      readonly iamUrl: string;
    };
    /** First re-check of a provider task, in seconds; later ones back off to `maxSeconds`. */
    readonly poll: { readonly firstSeconds: number; readonly maxSeconds: number; readonly deadlineSeconds: number };
    /** How long live device facts (status, queue) are reused, in seconds. */
    readonly statusCacheSeconds: number;
  };
  /** The installation's budget policy. */
  readonly budgets: {
    /** A job with a cost in a namespace without a QiskitBudget: refused (the default) or run unbudgeted. */
    readonly unbudgetedPaidJobs: 'refuse' | 'allow';
  };
  readonly mail: {
    /** outbox: .eml files in the store; smtp: QPIPE_SMTP_URL; ses: Amazon SES in the AWS region. */
    readonly transport: 'outbox' | 'smtp' | 'ses';
    readonly smtpUrl?: string;
    readonly from: string;
  };
}

type Env = Readonly<Record<string, string | undefined>>;

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?$/i;
const UNIT: Record<string, number> = {
  b: 1,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
};

/** A comma-separated list; empty or unset is no entries. */
function readList(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

export function readSize(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const match = SIZE.exec(raw.trim());
  if (!match) throw new ConfigError(name, `"${raw}" is not a size; write bytes or a size like 512MiB or 8GiB`);
  return Math.floor(Number(match[1]) * (UNIT[(match[2] ?? 'b').toLowerCase()] ?? 1));
}

function readInteger(env: Env, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(name, `"${raw}" must be a whole number of at least ${min}`);
  }
  return value;
}

/** Options set on the command line, which win over the environment. */
export interface ConfigOverrides {
  readonly storeDir?: string;
}

/** Where kubelet mounts a pod's ServiceAccount; its `namespace` file names the pod's namespace. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The namespace of the pod this runs in, or undefined outside a pod (or without a mounted ServiceAccount). */
export function podNamespace(
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): string | undefined {
  try {
    return read(SERVICE_ACCOUNT_NAMESPACE_FILE).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The memory this process may use: the container's limit (cgroup v2 `memory.max`, or v1's
 * `memory.limit_in_bytes`) where one is set, else the machine's free memory. A pod must not
 * size itself from the node's free memory, which other pods are about to take.
 */
export function availableMemory(
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
  free: () => number = freemem,
  env: Env = process.env,
): number {
  // A Lambda's memory is its configured size (MB), which its sandbox reports no cgroup for.
  const lambdaMB = Number(env['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']);
  if (Number.isFinite(lambdaMB) && lambdaMB > 0) return lambdaMB * 2 ** 20;
  for (const path of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const limit = Number(read(path).trim());
      // "max", or v1's "no limit" (a huge page-aligned number), mean no limit.
      if (Number.isFinite(limit) && limit > 0 && limit < 2 ** 60) return Math.min(limit, free());
    } catch {
      // Not in a cgroup that has this file.
    }
  }
  return free();
}

/** Reads and validates configuration. */
export function loadConfig(given: Env = process.env, overrides: ConfigOverrides = {}): QpipeConfig {
  // Credentials may come from files (NAME_FILE: a mounted Secret, Vault Agent's file).
  const env = resolveSecretFiles(given);
  // By default the simulator may use half of the memory this process may use. Deployments
  // set it explicitly to execute's capacity, so every stage decides on the same figure.
  const maxMemoryBytes = readSize(env, 'QPIPE_SIMULATOR_MAX_MEMORY', Math.floor(availableMemory() / 2));
  const precision = env['QPIPE_SIMULATOR_PRECISION'] ?? 'double';
  if (precision !== 'double' && precision !== 'single') {
    throw new ConfigError('QPIPE_SIMULATOR_PRECISION', `"${precision}" must be double or single`);
  }
  const kernels = env['QPIPE_SIMULATOR_KERNELS'] ?? 'simd';
  if (kernels !== 'simd' && kernels !== 'scalar') {
    throw new ConfigError('QPIPE_SIMULATOR_KERNELS', `"${kernels}" must be simd or scalar`);
  }
  const mailFrom = env['QPIPE_MAIL_FROM'] ?? 'qpipe <qpipe@localhost>';
  if (/[\r\n]/.test(mailFrom)) throw new ConfigError('QPIPE_MAIL_FROM', 'must be one line');
  const smtpUrl = env['QPIPE_SMTP_URL'];
  const transport = env['QPIPE_MAIL_TRANSPORT'] ?? (smtpUrl ? 'smtp' : 'outbox');
  if (transport !== 'outbox' && transport !== 'smtp' && transport !== 'ses') {
    throw new ConfigError('QPIPE_MAIL_TRANSPORT', `"${transport}" must be outbox, smtp or ses`);
  }
  if (transport === 'smtp' && !smtpUrl) throw new ConfigError('QPIPE_SMTP_URL', 'is required when mail goes over SMTP');
  if (smtpUrl !== undefined && !/^smtps?:\/\//.test(smtpUrl)) {
    throw new ConfigError('QPIPE_SMTP_URL', 'must be a URL such as smtp://user:password@host:587');
  }
  const cluster = env['QPIPE_CLUSTER'] ?? 'local';
  if (cluster !== 'local' && cluster !== 'kubernetes') {
    throw new ConfigError('QPIPE_CLUSTER', `"${cluster}" must be local or kubernetes`);
  }
  // An empty value (a ConfigMap key left blank) means unset.
  const bucket = env['QPIPE_S3_BUCKET'] || undefined;
  if (bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError('QPIPE_S3_BUCKET', `"${bucket}" is not a valid S3 bucket name`);
  }
  const metricsPort = env['QPIPE_METRICS_PORT'];
  const unbudgetedPaidJobs = env['QPIPE_UNBUDGETED_PAID_JOBS'] || 'refuse';
  if (unbudgetedPaidJobs !== 'refuse' && unbudgetedPaidJobs !== 'allow') {
    throw new ConfigError('QPIPE_UNBUDGETED_PAID_JOBS', `"${unbudgetedPaidJobs}" must be refuse or allow`);
  }
  return {
    cluster,
    stageTimeoutSeconds: readInteger(env, 'QPIPE_STAGE_TIMEOUT_SECONDS', 240),
    // Lambda's asynchronous invocation makes three attempts; Knative's broker and the embedded bus more.
    maxAttempts: readInteger(env, 'QPIPE_MAX_ATTEMPTS', 3),
    namespace: env['QPIPE_NAMESPACE'] || (cluster === 'kubernetes' ? podNamespace() : undefined) || 'default',
    maxQueuedEvents: readInteger(env, 'QPIPE_MAX_QUEUED_EVENTS', 2000),
    claimLeaseSeconds: readInteger(env, 'QPIPE_CLAIM_LEASE_SECONDS', 60),
    resyncAfterSeconds: readInteger(env, 'QPIPE_RESYNC_AFTER_SECONDS', 600),
    ...(env['QPIPE_TIMER_INTERVAL_SECONDS']
      ? { timerIntervalSeconds: readInteger(env, 'QPIPE_TIMER_INTERVAL_SECONDS', 60) }
      : {}),
    ...(metricsPort === undefined || metricsPort === ''
      ? {}
      : { metricsPort: readInteger(env, 'QPIPE_METRICS_PORT', 9090, 0) }),
    ...(bucket === undefined
      ? {}
      : {
          s3: {
            bucket,
            prefix: env['QPIPE_S3_PREFIX'] ?? '',
            // S3-compatible servers (MinIO, s3rver) want path-style addressing.
            forcePathStyle: env['QPIPE_S3_FORCE_PATH_STYLE'] === 'true',
          },
        }),
    storeDir: overrides.storeDir ?? env['QPIPE_STORE'] ?? '.qpipe',
    circuitLimits: {
      maxBytes: readSize(env, 'QPIPE_MAX_CIRCUIT_BYTES', DEFAULT_LIMITS.maxBytes),
      maxQubits: readInteger(env, 'QPIPE_MAX_QUBITS', DEFAULT_LIMITS.maxQubits),
      maxClbits: readInteger(env, 'QPIPE_MAX_CLBITS', DEFAULT_LIMITS.maxClbits),
      maxGates: readInteger(env, 'QPIPE_MAX_GATES', DEFAULT_LIMITS.maxGates),
      maxOperations: readInteger(env, 'QPIPE_MAX_OPERATIONS', DEFAULT_LIMITS.maxOperations),
      maxLoopIterations: readInteger(env, 'QPIPE_MAX_LOOP_ITERATIONS', DEFAULT_LIMITS.maxLoopIterations),
      maxNesting: readInteger(env, 'QPIPE_MAX_NESTING', DEFAULT_LIMITS.maxNesting),
    },
    inlineCircuitBytes: readSize(env, 'QPIPE_INLINE_CIRCUIT_BYTES', 64 * 1024),
    circuitUrls: {
      ...(env['QPIPE_CIRCUIT_URL_HOSTS'] === undefined ? {} : { hosts: readList(env, 'QPIPE_CIRCUIT_URL_HOSTS') }),
      allowedRanges: readList(env, 'QPIPE_CIRCUIT_URL_ALLOWED_RANGES'),
      timeoutMs: 1000 * readInteger(env, 'QPIPE_CIRCUIT_URL_TIMEOUT_SECONDS', 10, 1),
    },
    simulator: {
      maxMemoryBytes,
      maxQubits: Math.max(0, Math.floor(Math.log2(maxMemoryBytes / (precision === 'double' ? 16 : 8)))),
      precision,
      threads: readInteger(env, 'QPIPE_SIMULATOR_THREADS', cpuQuota(), 1),
      // Read only when set, so loading configuration never loads the simulator.
      ...(env['QPIPE_SIMULATOR_FUSION'] ? { fusionWidth: readInteger(env, 'QPIPE_SIMULATOR_FUSION', 0, 0) } : {}),
      kernels,
    },
    budgets: { unbudgetedPaidJobs },
    mail: { transport, from: mailFrom, ...(smtpUrl === undefined ? {} : { smtpUrl }) },
    providers: readProviders(env, bucket),
  };
}

function readProviders(env: Env, qpipeBucket: string | undefined): QpipeConfig['providers'] {
  const enabled = (name: string) => {
    const raw = env[name] ?? '';
    if (!['', 'true', 'false'].includes(raw)) throw new ConfigError(name, `"${raw}" must be true or false`);
    return raw === 'true';
  };
  // QPIPE_BRAKET=false is off whatever else is set (a stack renders the bucket either way).
  const braketOff = env['QPIPE_BRAKET'] === 'false';
  const outputBucket = braketOff
    ? undefined
    : ((env['QPIPE_BRAKET_OUTPUT_BUCKET'] || undefined) ?? (enabled('QPIPE_BRAKET') ? qpipeBucket : undefined));
  if (enabled('QPIPE_BRAKET') && outputBucket === undefined) {
    throw new ConfigError('QPIPE_BRAKET_OUTPUT_BUCKET', 'is required for Braket when QPIPE_S3_BUCKET is not set');
  }
  // Empty values (a deployment parameter left blank) mean unset.
  const apiKey = env['IBM_QUANTUM_API_KEY'] || undefined;
  const serviceCrn = env['IBM_QUANTUM_CRN'] || undefined;
  if ((apiKey === undefined) !== (serviceCrn === undefined)) {
    throw new ConfigError(
      apiKey ? 'IBM_QUANTUM_CRN' : 'IBM_QUANTUM_API_KEY',
      "IBM Quantum needs both IBM_QUANTUM_API_KEY and IBM_QUANTUM_CRN (the instance's Service CRN)",
    );
  }
  const url = (name: string, fallback: string) => {
    const value = env[name] ?? fallback;
    if (!/^https?:\/\//.test(value)) throw new ConfigError(name, `"${value}" is not an http(s) URL`);
    return value;
  };
  const firstSeconds = readInteger(env, 'QPIPE_POLL_FIRST_SECONDS', 5);
  return {
    ...(outputBucket === undefined
      ? {}
      : {
          braket: {
            outputBucket,
            outputPrefix: env['QPIPE_BRAKET_OUTPUT_PREFIX'] ?? 'braket',
            stateChangeEvents: enabled('QPIPE_BRAKET_STATE_EVENTS'),
            ...(env['QPIPE_BRAKET_REGION'] ? { region: env['QPIPE_BRAKET_REGION'] } : {}),
          },
        }),
    ...(apiKey === undefined || serviceCrn === undefined
      ? {}
      : {
          ibm: {
            apiKey,
            serviceCrn,
            apiUrl: url('QPIPE_IBM_API_URL', 'https://quantum.cloud.ibm.com/api'),
            iamUrl: url('QPIPE_IBM_IAM_URL', 'https://iam.cloud.ibm.com'),
          },
        }),
    poll: {
      firstSeconds,
      maxSeconds: Math.max(firstSeconds, readInteger(env, 'QPIPE_POLL_MAX_SECONDS', 300)),
      deadlineSeconds: readInteger(env, 'QPIPE_POLL_DEADLINE_SECONDS', 7 * 24 * 3600),
    },
    statusCacheSeconds: readInteger(env, 'QPIPE_DEVICE_STATUS_CACHE_SECONDS', 30, 0),
  };
}

/**
 * execute allocates what the simulator is told it may (validation admits circuits up to it):
 * it refuses to start when that is more than three quarters of its own memory, the rest being
 * Node's, the fused-gate buffers' and the worker thread's; an out-of-memory kill mid-job is
 * worse than a clear refusal at start. Deployments size both from infra/sizing.ts.
 */
export function requireSimulatorFits(config: QpipeConfig, ownMemoryBytes: number = availableMemory()): void {
  const told = config.simulator.maxMemoryBytes;
  if (told > ownMemoryBytes * 0.75) {
    const mib = (bytes: number) => `${Math.floor(bytes / 2 ** 20)} MiB`;
    throw new ConfigError(
      'QPIPE_SIMULATOR_MAX_MEMORY',
      `${mib(told)} does not fit in execute's memory (${mib(ownMemoryBytes)}, of which the simulator may take three ` +
        "quarters): lower it, or raise execute's memory limit (infra/sizing.ts; --param executeMemory on AWS)",
    );
  }
}

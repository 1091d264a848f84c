/**
 * Renders the Knative Services and Triggers from the stage list and the event catalog's
 * SUBSCRIPTIONS (`npm run gen`), so the cluster routes exactly what the code subscribes to.
 * A test fails when the checked-in files drift.
 */
import { stringify } from 'yaml';
import { quantity, simulatorMaxMemory, SIZES } from '../sizing.ts';
import { type AttributeFilter, EventType, type Stage, subscriptionFilters, SUBSCRIPTIONS } from '../../events/types.ts';

/** Namespace everything is installed in. */
export const NAMESPACE = 'qpipe';
/** The image all stages share; the stage is chosen by QPIPE_STAGE. */
export const IMAGE = 'ghcr.io/qpipe/qpipe:0.1.0';

const STAGES = Object.keys(SUBSCRIPTIONS) as Stage[];

interface StageSettings {
  readonly cpu: string;
  readonly concurrency: number;
  /** 0 (scale to zero) but for the timer, whose budget gauges must outlive every stage. */
  readonly minScale?: number;
  readonly maxScale: number;
  readonly serviceAccount: string;
  /** Provider credentials and the SMTP URL (Secret qpipe-credentials): only stages that call out. */
  readonly credentials: boolean;
}

// Memory: infra/sizing.ts.
const SETTINGS: Record<Stage | 'dead-letters' | 'timer', StageSettings> = {
  validate: {
    cpu: '250m',
    concurrency: 20,
    maxScale: 10,
    serviceAccount: 'qpipe-reader',
    credentials: false,
  },
  'select-backend': {
    cpu: '100m',
    concurrency: 50,
    maxScale: 5,
    serviceAccount: 'qpipe-reader',
    credentials: false,
  },
  'enforce-budget': {
    cpu: '100m',
    concurrency: 50,
    maxScale: 5,
    serviceAccount: 'qpipe-budget',
    credentials: false,
  },
  execute: {
    cpu: '2',
    concurrency: 1,
    maxScale: 10,
    serviceAccount: 'qpipe-execute',
    credentials: true,
  },
  'collect-results': {
    cpu: '250m',
    concurrency: 20,
    maxScale: 5,
    serviceAccount: 'qpipe-status',
    credentials: false,
  },
  // Ticked once a minute by a PingSource (timer.yaml): releases due delayed events, resyncs stalled
  // jobs, and exports the budgets' gauges, so it always runs (one small pod).
  timer: {
    cpu: '100m',
    concurrency: 1,
    minScale: 1,
    maxScale: 1,
    serviceAccount: 'qpipe-timer',
    credentials: false,
  },
  // The broker's dead-letter sink: records what could not be delivered in the shared store.
  'dead-letters': {
    cpu: '50m',
    concurrency: 10,
    maxScale: 1,
    serviceAccount: 'qpipe-reader',
    credentials: false,
  },
  notify: {
    cpu: '100m',
    concurrency: 10,
    maxScale: 2,
    serviceAccount: 'qpipe-notify',
    credentials: true,
  },
};

/** What every stage is told the simulator may hold: execute's share (infra/sizing.ts). */
export const SIMULATOR_MAX_MEMORY = simulatorMaxMemory(SIZES.execute.knativeMiB);

/**
 * Time limits, consistent from the inside out: a stage stops its own work at
 * QPIPE_STAGE_TIMEOUT_SECONDS and answers; Knative's request timeout comes after that; the
 * Broker's delivery timeout after both, so the broker always gets the stage's answer.
 */
export const STAGE_TIMEOUT_SECONDS = 240;
/** Knative Serving's per-request timeout of every stage. */
export const REQUEST_TIMEOUT_SECONDS = 270;
/** Port the stages serve /metrics on, apart from the request port, so scrapes bypass queue-proxy. */
export const METRICS_PORT = 9090;

/** Labels on every stage pod (the NetworkPolicy and PodMonitor select on them). */
export function podLabels(stage: string): Record<string, string> {
  return { 'app.kubernetes.io/part-of': 'qpipe', 'qpipe.io/stage': stage };
}

const restricted = {
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  seccompProfile: { type: 'RuntimeDefault' },
  capabilities: { drop: ['ALL'] },
};

function service(stage: Stage | 'dead-letters' | 'timer') {
  const s = SETTINGS[stage];
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: `qpipe-${stage}`, namespace: NAMESPACE, labels: podLabels(stage) },
    spec: {
      template: {
        metadata: {
          labels: podLabels(stage),
          annotations: {
            'autoscaling.knative.dev/min-scale': String(s.minScale ?? 0),
            'autoscaling.knative.dev/max-scale': String(s.maxScale),
          },
        },
        spec: {
          serviceAccountName: s.serviceAccount,
          containerConcurrency: s.concurrency,
          timeoutSeconds: REQUEST_TIMEOUT_SECONDS,
          containers: [
            {
              name: 'stage',
              image: IMAGE,
              // Only what the pod's own shape fixes; settings come from ConfigMap qpipe-config alone
              // (an explicit env would win over envFrom and make the ConfigMap say nothing). The
              // installation's namespace is the pod's own (its ServiceAccount's namespace file).
              env: [
                { name: 'QPIPE_STAGE', value: stage },
                { name: 'QPIPE_CLUSTER', value: 'kubernetes' },
                // Scratch space on the /tmp volume: every piece of state lives in the shared store.
                { name: 'QPIPE_STORE', value: '/tmp/qpipe' },
                // The port the PodMonitor scrapes.
                { name: 'QPIPE_METRICS_PORT', value: String(METRICS_PORT) },
              ],
              envFrom: [
                { configMapRef: { name: 'qpipe-config' } },
                { secretRef: { name: 'qpipe-storage-credentials', optional: true } },
                ...(s.credentials ? [{ secretRef: { name: 'qpipe-credentials', optional: true } }] : []),
              ],
              resources: {
                requests: { memory: quantity(SIZES[stage].knativeMiB), cpu: s.cpu },
                limits: { memory: quantity(SIZES[stage].knativeMiB) },
              },
              readinessProbe: { httpGet: { path: '/readyz' } },
              livenessProbe: { httpGet: { path: '/healthz' } },
              securityContext: restricted,
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
}

function trigger(stage: Stage, filter: AttributeFilter, emitters: number) {
  const short = filter.type
    .replace(/^io\.quantum\./, '')
    .replace(/^dev\.knative\.apiserver\./, 'k8s-')
    .replaceAll('.', '-');
  // A type several stages emit gets one Trigger per emitter, named after it.
  const from = emitters > 1 && filter.source ? `-from-${filter.source.replace('/qpipe/', '')}` : '';
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: `${stage}-${short}${from}`, namespace: NAMESPACE },
    spec: {
      broker: 'qpipe',
      // Internal events are accepted only from the stage that emits them (DESIGN.md).
      filter: { attributes: { ...filter } },
      subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: `qpipe-${stage}` } },
    },
  };
}

const HEADER = '# Generated from events/types.ts (SUBSCRIPTIONS) by `npm run gen`. Do not edit.\n';

/**
 * ConfigMap qpipe-config: the one place every setting lives (the Services set none of them in
 * `env`, which would win over it). Written with its comments, for the operator who edits it.
 */
function configMap(): string {
  return `# Generated by \`npm run gen\` (infra/knative/render.ts); edit your copy, or a kustomize overlay.
# Settings every qpipe pod reads (envFrom) when it starts, and reads nowhere else: after a
# change, roll the Services to a new revision (README, "Deploy on Knative"). The stages are separate pods with separate filesystems,
# so all state (results, ledgers, task records, held jobs, claims, scheduled events, status of
# directly published jobs, dead letters) lives in one S3 bucket; a stage refuses to start
# without it. Fill in one of the two storage options below before applying.
# Storage credentials go in the Secret qpipe-storage-credentials (AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY), or come from the pod's identity (IRSA, EKS Pod Identity).
apiVersion: v1
kind: ConfigMap
metadata:
  name: qpipe-config
  namespace: ${NAMESPACE}
data:
  # Option 1, in-cluster MinIO (README: "Shared storage"): the Service minio in qpipe's namespace.
  QPIPE_S3_BUCKET: qpipe
  AWS_ENDPOINT_URL_S3: http://minio:9000
  QPIPE_S3_FORCE_PATH_STYLE: 'true'
  AWS_REGION: us-east-1
  # Option 2, Amazon S3: set QPIPE_S3_BUCKET and AWS_REGION, and delete the two lines above it.

  # execute's capacity (half its memory limit, the sizing table in infra/sizing.ts), told to
  # every stage so validation and selection decide on it. Raise it with execute's limit.
  QPIPE_SIMULATOR_MAX_MEMORY: ${SIMULATOR_MAX_MEMORY}
  # A stage stops its own work after this; it must stay under the Services' timeoutSeconds
  # (${REQUEST_TIMEOUT_SECONDS}) and the Broker's delivery timeout.
  QPIPE_STAGE_TIMEOUT_SECONDS: '${STAGE_TIMEOUT_SECONDS}'
  LOG_LEVEL: info
`;
}

/** The filters routing broker events to a stage: all it subscribes to but Braket's, which only EventBridge carries. */
export function brokerFilters(stage: Stage): AttributeFilter[] {
  return subscriptionFilters(stage).filter((f) => f.type !== EventType.BraketTaskStateChange);
}

/** The generated manifests: file name to YAML text. */
export function renderKnativeFiles(): Map<string, string> {
  const documents = (items: unknown[]) => HEADER + items.map((item) => stringify(item, { lineWidth: 0 })).join('---\n');
  const triggers = STAGES.flatMap((stage) => {
    const filters = brokerFilters(stage);
    return filters.map((f) => trigger(stage, f, filters.filter((other) => other.type === f.type).length));
  });
  return new Map([
    ['config.yaml', configMap()],
    ['services.yaml', documents([...STAGES, 'timer' as const, 'dead-letters' as const].map(service))],
    ['triggers.yaml', documents(triggers)],
  ]);
}

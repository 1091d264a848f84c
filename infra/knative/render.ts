/**
 * Renders the Knative Services and Triggers from the stage list and the event catalog's
 * SUBSCRIPTIONS (`npm run gen`), so the cluster routes exactly what the code subscribes to.
 * A test fails when the checked-in files drift.
 */
import { stringify } from 'yaml';
import { EventType, type Stage, SUBSCRIPTIONS } from '../../events/types.ts';

/** Namespace everything is installed in. */
export const NAMESPACE = 'qpipe';
/** The image all stages share; the stage is chosen by QPIPE_STAGE. */
export const IMAGE = 'ghcr.io/qpipe/qpipe:0.1.0';

const STAGES = Object.keys(SUBSCRIPTIONS) as Stage[];

interface StageSettings {
  readonly memory: string;
  readonly cpu: string;
  readonly concurrency: number;
  readonly maxScale: number;
  readonly serviceAccount: string;
}

// execute holds state vectors in memory; the others are small and mostly wait on I/O.
const SETTINGS: Record<Stage, StageSettings> = {
  validate: { memory: '256Mi', cpu: '250m', concurrency: 20, maxScale: 10, serviceAccount: 'qpipe-reader' },
  'select-backend': { memory: '128Mi', cpu: '100m', concurrency: 50, maxScale: 5, serviceAccount: 'qpipe-reader' },
  'enforce-budget': { memory: '128Mi', cpu: '100m', concurrency: 50, maxScale: 5, serviceAccount: 'qpipe-budget' },
  execute: { memory: '4Gi', cpu: '2', concurrency: 1, maxScale: 10, serviceAccount: 'qpipe-execute' },
  'collect-results': { memory: '256Mi', cpu: '250m', concurrency: 20, maxScale: 5, serviceAccount: 'qpipe-status' },
  notify: { memory: '128Mi', cpu: '100m', concurrency: 10, maxScale: 2, serviceAccount: 'qpipe-notify' },
};

const restricted = {
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  seccompProfile: { type: 'RuntimeDefault' },
  capabilities: { drop: ['ALL'] },
};

function service(stage: Stage) {
  const s = SETTINGS[stage];
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {
      name: `qpipe-${stage}`,
      namespace: NAMESPACE,
      labels: { 'app.kubernetes.io/part-of': 'qpipe', 'qpipe.io/stage': stage },
    },
    spec: {
      template: {
        metadata: {
          annotations: {
            'autoscaling.knative.dev/min-scale': '0',
            'autoscaling.knative.dev/max-scale': String(s.maxScale),
          },
        },
        spec: {
          serviceAccountName: s.serviceAccount,
          containerConcurrency: s.concurrency,
          // Below Knative's 300 s so the broker gets our answer, not its own timeout.
          timeoutSeconds: 270,
          containers: [
            {
              name: 'stage',
              image: IMAGE,
              env: [
                { name: 'QPIPE_STAGE', value: stage },
                { name: 'QPIPE_CLUSTER', value: 'kubernetes' },
                { name: 'QPIPE_STORE', value: '/tmp/qpipe' },
                { name: 'LOG_LEVEL', value: 'info' },
              ],
              envFrom: [
                { configMapRef: { name: 'qpipe-config', optional: true } },
                { secretRef: { name: 'qpipe-credentials', optional: true } },
              ],
              resources: { requests: { memory: s.memory, cpu: s.cpu }, limits: { memory: s.memory } },
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

function trigger(stage: Stage, type: string) {
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: {
      name: `${stage}-${type
        .replace(/^io\.quantum\./, '')
        .replace(/^dev\.knative\.apiserver\./, 'k8s-')
        .replaceAll('.', '-')}`,
      namespace: NAMESPACE,
    },
    spec: {
      broker: 'qpipe',
      filter: { attributes: { type } },
      subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: `qpipe-${stage}` } },
    },
  };
}

const HEADER = '# Generated from events/types.ts (SUBSCRIPTIONS) by `npm run gen`. Do not edit.\n';

/** The types a stage receives from the broker: all it subscribes to but Braket's, which only EventBridge carries. */
export function brokerTypes(stage: Stage): EventType[] {
  return SUBSCRIPTIONS[stage].filter((type) => type !== EventType.BraketTaskStateChange);
}

/** The generated manifests: file name to YAML text. */
export function renderKnativeFiles(): Map<string, string> {
  const documents = (items: unknown[]) => HEADER + items.map((item) => stringify(item, { lineWidth: 0 })).join('---\n');
  return new Map([
    ['services.yaml', documents(STAGES.map(service))],
    ['triggers.yaml', documents(STAGES.flatMap((stage) => brokerTypes(stage).map((type) => trigger(stage, type))))],
  ]);
}

/**
 * Renders the Helm chart infra/helm/qpipe (`npm run gen`) from the same source as infra/knative:
 * the documents kustomize applies (the generated Services, Triggers and ConfigMap, the static
 * Broker, sources, NetworkPolicy, RBAC and CRDs), with the fields an operator sets made values.
 * With the default values the chart renders what `kubectl kustomize infra/knative` does, but the
 * Namespace (Helm's `--create-namespace` makes it; `namespace.create` templates it with its Pod
 * Security labels) and each stage's config checksum (a settings change rolls the stages); a test
 * holds it to that.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';
import { SUBSCRIPTIONS, type Stage } from '../../events/types.ts';
import { IMAGE, NAMESPACE, renderKnativeFiles, REQUEST_TIMEOUT_SECONDS } from '../knative/render.ts';

/** The chart's version: bump on every change of templates or values (the upgrade test installs the previous one). */
export const CHART_VERSION = '0.2.0';

/**
 * Knative Serving's feature flags (ConfigMap config-features) each scheduling value needs:
 * without them Serving's webhook refuses the field.
 */
export const SCHEDULING_FEATURE_FLAGS = {
  nodeSelector: 'kubernetes.podspec-nodeselector',
  tolerations: 'kubernetes.podspec-tolerations',
  affinity: 'kubernetes.podspec-affinity',
  topologySpreadConstraints: 'kubernetes.podspec-topologyspreadconstraints',
} as const;
const ROOT = new URL('../../', import.meta.url);
const STAGES = [...(Object.keys(SUBSCRIPTIONS) as Stage[]), 'timer', 'dead-letters'] as const;

type Doc = Record<string, unknown> & { kind: string; apiVersion: string; metadata: Record<string, unknown> };

/**
 * Helm expressions stand in the YAML as plain tokens (quotes and braces would not survive
 * serialisation) and are put back after: a value token becomes `{{ expression }}`, a block
 * token's line becomes an `include` of YAML (or nothing) at the line's indentation.
 */
const expressions: string[] = [];
const helm = (expression: string) => `HELMEXPR${expressions.push(expression) - 1}X`;
const block = (include: string) => `HELMBLOCK${expressions.push(include) - 1}X`;
const stageValue = (stage: string, field: string) => `(index .Values.stages "${stage}").${field}`;

function documentsOf(file: string, text = readFileSync(new URL(file, ROOT), 'utf8')): Doc[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

/** Every namespace qpipe's objects name becomes the release's. */
function inReleaseNamespace(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(inReleaseNamespace);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === 'namespace' && v === NAMESPACE ? helm('.Release.Namespace') : inReleaseNamespace(v),
    ]),
  );
}

/** A Knative Service with the stage's values: image, scale, concurrency, timeout, resources, scheduling. */
function templateService(doc: Doc): Doc {
  const stage = (doc.metadata['labels'] as Record<string, string>)['qpipe.io/stage'] ?? '';
  const spec = doc['spec'] as {
    template: { metadata: Record<string, Record<string, unknown>>; spec: Record<string, unknown> };
  };
  const annotations = spec.template.metadata['annotations'] ?? {};
  annotations['autoscaling.knative.dev/min-scale'] = helm(`${stageValue(stage, 'minScale')} | quote`);
  annotations['autoscaling.knative.dev/max-scale'] = helm(`${stageValue(stage, 'maxScale')} | quote`);
  // A settings change rolls every stage to a new revision (kustomize users roll by hand, README).
  annotations['qpipe.io/config-checksum'] = helm('include (print $.Template.BasePath "/config.yaml") $ | sha256sum');
  annotations[block(`include "qpipe.podAnnotations" (dict "stage" "${stage}" "root" $)`)] = '';
  spec.template.metadata[block(`include "qpipe.revisionName" (dict "stage" "${stage}" "root" $)`)] = {};
  (spec as Record<string, unknown>)[block(`include "qpipe.traffic" (dict "stage" "${stage}" "root" $)`)] = '';
  const pod = spec.template.spec;
  pod['containerConcurrency'] = helm(stageValue(stage, 'concurrency'));
  pod['timeoutSeconds'] = helm('.Values.requestTimeoutSeconds');
  const [container] = pod['containers'] as Record<string, unknown>[];
  if (!container) throw new Error(`${String(doc.metadata['name'])} has no container`);
  container['image'] = helm('include "qpipe.image" .');
  container[block('include "qpipe.imagePullPolicy" .')] = '';
  const resources = container['resources'] as Record<string, Record<string, string>>;
  const memory = helm(`${stageValue(stage, 'memory')} | quote`);
  resources['requests'] = { memory, cpu: helm(`${stageValue(stage, 'cpu')} | quote`) };
  resources['limits'] = { memory };
  container['envFrom'] = (container['envFrom'] as Record<string, { name?: string }>[]).map((from) =>
    from['secretRef']?.name === 'qpipe-credentials'
      ? { secretRef: { ...from['secretRef'], name: helm('.Values.credentials.existingSecret') } }
      : from,
  );
  pod[block(`include "qpipe.podScheduling" (dict "stage" "${stage}" "root" $)`)] = '';
  return doc;
}

/** A document with the release's namespace and its values, or undefined where the chart leaves it out. */
function template(doc: Doc): Doc {
  if (doc.kind === 'Service' && doc.apiVersion === 'serving.knative.dev/v1') templateService(doc);
  if (doc.kind === 'ServiceAccount') doc.metadata[block('include "qpipe.serviceAccountAnnotations" .')] = '';
  return inReleaseNamespace(doc) as Doc;
}

/** YAML with the tokens made Helm expressions and includes. */
function toTemplate(docs: readonly Doc[]): string {
  return (
    docs
      .map((doc) => stringify(doc, { lineWidth: 0 }))
      .join('---\n')
      // Braces already in the documents (alert templates, dashboard legends) are Helm's to print, not to read.
      .replace(/\{\{|\}\}/g, (braces) => `{{ "${braces}" }}`)
      .replace(
        /^( *)HELMBLOCK(\d+)X: .*$/gm,
        (_, indent: string, n: string) =>
          `${indent}{{- with (${expressions[Number(n)]} | trim) }}{{ . | nindent ${indent.length} }}{{- end }}`,
      )
      .replace(/(['"]?)HELMEXPR(\d+)X\1/g, (_, __, n: string) => `{{ ${expressions[Number(n)]} }}`)
  );
}

/** The ConfigMap qpipe-config, from the storage and config values. */
const CONFIG_TEMPLATE = `# Settings every qpipe pod reads when it starts (values: storage, config); a change rolls the
# stages to a new revision (the qpipe.io/config-checksum annotation on their pods).
apiVersion: v1
kind: ConfigMap
metadata:
  name: qpipe-config
  namespace: {{ .Release.Namespace }}
data:
  QPIPE_S3_BUCKET: {{ .Values.storage.bucket | quote }}
  {{- with .Values.storage.endpoint }}
  AWS_ENDPOINT_URL_S3: {{ . }}
  {{- end }}
  {{- if .Values.storage.forcePathStyle }}
  QPIPE_S3_FORCE_PATH_STYLE: 'true'
  {{- end }}
  AWS_REGION: {{ .Values.storage.region }}
  {{- range $name, $value := .Values.config }}
  {{ $name }}: {{ $value | quote }}
  {{- end }}
`;

const HEADER = '# Generated by `npm run gen` (infra/helm/render.ts) from infra/knative. Do not edit.\n';

/** The chart's files: path under infra/helm/qpipe to text. */
export function renderChartFiles(): Map<string, string> {
  const knative = renderKnativeFiles();
  const generated = (name: string) => documentsOf(`infra/knative/${name}`, knative.get(name));
  const files = new Map<string, string>();
  for (const crd of ['qiskitjobs', 'qiskitbudgets', 'qiskitbackends', 'qiskitsessions']) {
    files.set(`crds/${crd}.yaml`, readFileSync(new URL(`infra/crds/${crd}.yaml`, ROOT), 'utf8'));
  }
  const templates: [string, Doc[], string?][] = [
    ['rbac.yaml', [...documentsOf('infra/rbac/rbac.yaml'), ...documentsOf('infra/rbac/tenant-roles.yaml')]],
    ['broker.yaml', documentsOf('infra/knative/broker.yaml')],
    ['sources.yaml', documentsOf('infra/knative/sources.yaml')],
    ['timer.yaml', documentsOf('infra/knative/timer.yaml')],
    ['services.yaml', generated('services.yaml')],
    ['triggers.yaml', generated('triggers.yaml')],
    ['network-policy.yaml', documentsOf('infra/knative/network-policy.yaml'), '.Values.networkPolicy.enabled'],
    ['monitoring.yaml', monitoringDocuments(), '.Values.monitoring.enabled'],
  ];
  for (const [name, docs, condition] of templates) {
    const body = toTemplate(docs.map(template));
    files.set(`templates/${name}`, HEADER + (condition ? `{{- if ${condition} }}\n${body}{{- end }}\n` : body));
  }
  files.set('templates/config.yaml', HEADER + CONFIG_TEMPLATE);
  return files;
}

/** infra/monitoring as its kustomization makes it: the PodMonitor, the PrometheusRule and the dashboard's ConfigMap. */
function monitoringDocuments(): Doc[] {
  const dashboard: Doc = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'qpipe-grafana-dashboard', namespace: NAMESPACE, labels: { grafana_dashboard: '1' } },
    data: { 'grafana-dashboard.json': readFileSync(new URL('infra/monitoring/grafana-dashboard.json', ROOT), 'utf8') },
  };
  return [
    ...documentsOf('infra/monitoring/podmonitor.yaml'),
    ...documentsOf('infra/monitoring/prometheusrule.yaml'),
    dashboard,
  ];
}

/** The default values that reproduce infra/knative, per stage. */
export function stageDefaults(): Record<string, Record<string, unknown>> {
  const services = documentsOf('infra/knative/services.yaml', renderKnativeFiles().get('services.yaml'));
  return Object.fromEntries(
    STAGES.map((stage) => {
      const doc = services.find((d) => (d.metadata['labels'] as Record<string, string>)['qpipe.io/stage'] === stage);
      const spec = (
        doc?.['spec'] as {
          template: { metadata: { annotations: Record<string, string> }; spec: Record<string, unknown> };
        }
      ).template;
      const [container] = spec.spec['containers'] as { resources: { requests: { cpu: string; memory: string } } }[];
      if (!container) throw new Error(`qpipe-${stage} has no container`);
      return [
        stage,
        {
          cpu: container.resources.requests.cpu,
          memory: container.resources.requests.memory,
          minScale: Number(spec.metadata.annotations['autoscaling.knative.dev/min-scale']),
          maxScale: Number(spec.metadata.annotations['autoscaling.knative.dev/max-scale']),
          concurrency: spec.spec['containerConcurrency'],
          nodeSelector: {},
          tolerations: [],
          podAnnotations: {},
        },
      ];
    }),
  );
}

/** The chart's values, defaulting to what infra/knative installs. */
export function defaultValues(): Record<string, unknown> {
  const [repository = '', tag = ''] = IMAGE.replace(/^ghcr\.io\//, '').split(':');
  const config = documentsOf('infra/knative/config.yaml', renderKnativeFiles().get('config.yaml'))[0]?.[
    'data'
  ] as Record<string, string>;
  const { QPIPE_S3_BUCKET, AWS_ENDPOINT_URL_S3, QPIPE_S3_FORCE_PATH_STYLE, AWS_REGION, ...settings } = config;
  return {
    image: { registry: 'ghcr.io', repository, tag, digest: '', pullPolicy: '' },
    imagePullSecrets: [],
    namespace: { create: false, podSecurity: 'restricted' },
    storage: {
      bucket: QPIPE_S3_BUCKET,
      endpoint: AWS_ENDPOINT_URL_S3,
      forcePathStyle: QPIPE_S3_FORCE_PATH_STYLE === 'true',
      region: AWS_REGION,
    },
    config: settings,
    requestTimeoutSeconds: REQUEST_TIMEOUT_SECONDS,
    serviceAccount: { annotations: {} },
    credentials: {
      existingSecret: 'qpipe-credentials',
      externalSecret: {
        enabled: false,
        refreshInterval: '1h',
        secretStoreRef: { kind: 'ClusterSecretStore', name: '' },
        data: [],
      },
      vault: { enabled: false, role: 'qpipe', secretPath: '', template: '' },
    },
    podAnnotations: {},
    scheduling: { nodeSelector: {}, tolerations: [], affinity: {}, topologySpreadConstraints: [] },
    networkPolicy: { enabled: true },
    monitoring: { enabled: false },
    backup: { enabled: false, schedule: '15 2 * * *', keep: 14, bucket: '', prefix: 'backups' },
    revision: { name: '' },
    canary: { enabled: false, percent: 10, stableRevision: '' },
    stages: stageDefaults(),
  };
}

/** What each value means (the chart's README lists them with their defaults; a test checks every one is here). */
export const VALUE_DOCS: Readonly<Record<string, string>> = {
  'image.registry': 'Registry of the qpipe image (empty: none, for a local image).',
  'image.repository': 'Repository of the image every stage runs (the stage is chosen by QPIPE_STAGE).',
  'image.tag': "Image tag; empty means the chart's appVersion.",
  'image.digest': 'Pin the image by digest (sha256:...) instead of the tag, as production should.',
  'image.pullPolicy': 'imagePullPolicy of every stage; empty leaves it to Kubernetes.',
  imagePullSecrets: 'Pull secrets for a private registry, e.g. `[{name: regcred}]`.',
  'namespace.create': 'Template the release namespace with its Pod Security labels (not with `--create-namespace`).',
  'namespace.podSecurity': 'The Pod Security level enforced, audited and warned on in that namespace.',
  'storage.bucket': 'The S3 bucket all state lives in (results, ledgers, status, delayed events).',
  'storage.endpoint': 'S3 endpoint: the in-cluster MinIO Service by default; empty for Amazon S3.',
  'storage.forcePathStyle': 'Path-style S3 addressing (MinIO); false for Amazon S3.',
  'storage.region': "The bucket's region.",
  config:
    'Any other qpipe setting (README, "Configuration") as NAME: value, e.g. `QPIPE_SIMULATOR_MAX_MEMORY`, `LOG_LEVEL`.',
  requestTimeoutSeconds: "Knative's request timeout of every stage; keep it above config.QPIPE_STAGE_TIMEOUT_SECONDS.",
  'serviceAccount.annotations': "Annotations on every qpipe ServiceAccount, e.g. IRSA's `eks.amazonaws.com/role-arn`.",
  'credentials.existingSecret':
    'The Secret with provider credentials and the SMTP URL (execute, notify), made by you, ESO or Vault.',
  'credentials.externalSecret.enabled': 'Make that Secret with the External Secrets Operator (an ExternalSecret).',
  'credentials.externalSecret.refreshInterval': 'How often ESO refreshes it (rotation).',
  'credentials.externalSecret.secretStoreRef': 'The SecretStore or ClusterSecretStore to read from.',
  'credentials.externalSecret.data': 'ESO `data` entries: secretKey (e.g. IBM_QUANTUM_API_KEY) and remoteRef.',
  'credentials.vault.enabled':
    "Inject the credentials with Vault Agent into execute and notify (a file; set config's *_FILE settings to /vault/secrets/credentials keys).",
  'credentials.vault.role': 'The Vault Kubernetes auth role.',
  'credentials.vault.secretPath': 'The Vault secret path.',
  'credentials.vault.template': 'The Vault Agent template rendering it.',
  podAnnotations: 'Annotations on every stage pod.',
  'scheduling.nodeSelector': `nodeSelector of every stage pod (Knative: ${SCHEDULING_FEATURE_FLAGS.nodeSelector}).`,
  'scheduling.tolerations': `Tolerations of every stage pod (Knative: ${SCHEDULING_FEATURE_FLAGS.tolerations}).`,
  'scheduling.affinity': `Affinity of every stage pod, e.g. anti-affinity (Knative: ${SCHEDULING_FEATURE_FLAGS.affinity}).`,
  'scheduling.topologySpreadConstraints': `Zone spread (Knative: ${SCHEDULING_FEATURE_FLAGS.topologySpreadConstraints}).`,
  'networkPolicy.enabled': "The NetworkPolicy of qpipe's pods (infra/knative/network-policy.yaml).",
  'monitoring.enabled':
    "infra/monitoring: PodMonitor, PrometheusRule (alerts with runbooks) and Grafana dashboard (needs the Prometheus Operator's CRDs).",
  'backup.enabled':
    'A CronJob running `qpipe backup` (every QiskitJob, QiskitBudget, QiskitBackend, QiskitSession and ledger) to the bucket.',
  'backup.schedule': 'Its cron schedule (UTC).',
  'backup.keep': 'How many backups stay (older ones are deleted by the job).',
  'backup.bucket': 'The bucket backups go to; empty means storage.bucket.',
  'backup.prefix': 'The prefix in it; each backup is a folder named after its UTC time.',
  'revision.name':
    "Names each stage's revision qpipe-<stage>-<name> (e.g. the release's version; change it on every upgrade), so a canary can name the stable one.",
  'canary.enabled':
    "Split each stage's traffic: canary.percent to the new (latest) revision, tagged canary; the rest to the stable one, tagged stable.",
  'canary.percent': 'The share of traffic the new revision gets while canary.enabled.',
  'canary.stableRevision': 'The revision.name of the release being replaced (required with canary.enabled).',
  'stages.<stage>.cpu': "The stage's CPU request.",
  'stages.<stage>.memory':
    "The stage's memory request and limit (infra/sizing.ts); raise execute's with config.QPIPE_SIMULATOR_MAX_MEMORY.",
  'stages.<stage>.minScale': 'Knative min-scale (0: scale to zero; the timer keeps 1).',
  'stages.<stage>.maxScale': 'Knative max-scale.',
  'stages.<stage>.concurrency': 'containerConcurrency: requests one pod takes at once (execute: 1).',
  'stages.<stage>.nodeSelector':
    "This stage's nodeSelector, instead of the global one (e.g. execute on a quantum node pool).",
  'stages.<stage>.tolerations': "This stage's tolerations, instead of the global ones.",
  'stages.<stage>.podAnnotations': "Annotations on this stage's pods.",
};

/** Every documented path of a values object: leaves, and maps or lists as one value. */
export function valuePaths(values: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(values).flatMap(([key, value]) => {
    const path = prefix === 'stages.' ? 'stages.<stage>' : `${prefix}${key}`;
    const isBranch =
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      Object.keys(value).length > 0 &&
      !['config', 'podAnnotations'].includes(key) &&
      !path.endsWith('secretStoreRef');
    return isBranch ? valuePaths(value as Record<string, unknown>, `${path}.`) : [path];
  });
}

/** Chart.yaml, values.yaml and the chart's README. */
export function renderChartMetadata(): Map<string, string> {
  const values = defaultValues();
  const image = values['image'] as { tag: string };
  const chart = {
    apiVersion: 'v2',
    name: 'qpipe',
    description:
      'Quantum-circuit jobs on Knative: QiskitJob, QiskitBudget, QiskitBackend and QiskitSession resources run by six serverless stages',
    type: 'application',
    version: CHART_VERSION,
    appVersion: image.tag,
    kubeVersion: '>=1.30.0-0',
  };
  const documented = [...new Set(valuePaths(values))];
  const stageRows = Object.entries(values['stages'] as Record<string, Record<string, unknown>>).map(
    ([stage, v]) =>
      `| ${stage} | ${String(v['cpu'])} | ${String(v['memory'])} | ${String(v['minScale'])} | ${String(v['maxScale'])} | ${String(v['concurrency'])} |`,
  );
  const leaf = (path: string): unknown =>
    path.startsWith('stages.<stage>')
      ? '(per stage, below)'
      : path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], values);
  const readme = `# qpipe Helm chart

Generated by \`npm run gen\` (infra/helm/render.ts) from the same source as infra/knative: with
its default values it installs what \`kubectl apply -k infra/knative\` does, but the Namespace
(\`--create-namespace\`, or \`namespace.create\`) and a \`qpipe.io/config-checksum\` annotation on
each stage's pods, so that a settings change rolls the stages to a new revision.
Needs Knative Serving and Eventing (with the in-memory channel or another) in the cluster.

    helm install qpipe infra/helm/qpipe --namespace qpipe --create-namespace
    kubectl label namespace qpipe pod-security.kubernetes.io/enforce=restricted

CRDs are in \`crds/\`: Helm installs them with the chart the first time and never upgrades or
deletes them (Helm's rule, so an uninstall never deletes every job). Before an upgrade, apply
the new chart's CRDs (\`--force-conflicts\`: Helm created them, kubectl now owns their fields):

    kubectl apply --server-side --force-conflicts -f infra/helm/qpipe/crds/
    helm upgrade qpipe infra/helm/qpipe --namespace qpipe --reuse-values

Within \`quantum.io/v1\` CRDs change only as docs/crd-versioning.md allows (checked against
the last release), so jobs, budgets and their status stay as they are. Released versions are
in \`infra/helm/releases\` (a chart repository: \`helm install qpipe
infra/helm/releases/qpipe-<version>.tgz\`); the suite upgrades from the last one.

## Values

| Value | Default | Meaning |
| --- | --- | --- |
${documented.map((path) => `| \`${path}\` | \`${JSON.stringify(leaf(path))}\` | ${VALUE_DOCS[path] ?? ''} |`).join('\n')}

Per stage (\`stages.<stage>\`), the defaults (infra/sizing.ts):

| Stage | cpu | memory | minScale | maxScale | concurrency |
| --- | --- | --- | --- | --- | --- |
${stageRows.join('\n')}

## Upgrades and canaries

Name each release's revisions (\`revision.name\`, e.g. the version), then send a share of every
stage's traffic to the new one (Knative splits it; the tags give each revision its own URL):

    helm upgrade qpipe infra/helm/qpipe -n qpipe --reuse-values --set revision.name=v2 \\
      --set canary.enabled=true --set canary.stableRevision=v1 --set canary.percent=10
    # watch QpipeStageDown, HighJobFailureRate and the dashboard's failures by stage; then either
    helm upgrade qpipe infra/helm/qpipe -n qpipe --reuse-values --set canary.enabled=false   # promote: all to v2
    helm rollback qpipe <the release before the canary> -n qpipe                             # or back to v1

Events are idempotent, so a job whose events reach both revisions still runs once. The CRDs
stay \`quantum.io/v1\` within a major version (docs/crd-versioning.md).

## Scheduling

\`scheduling.*\` and \`stages.<stage>.nodeSelector|tolerations\` need Knative Serving's feature
flags in \`config-features\` (knative-serving namespace) set to \`enabled\`:
${Object.values(SCHEDULING_FEATURE_FLAGS)
  .map((flag) => '`' + flag + '`')
  .join(', ')}. Without them Serving's
webhook refuses the Services, naming the field.
`;
  return new Map([
    [
      'Chart.yaml',
      `# Generated by \`npm run gen\` (infra/helm/render.ts). Do not edit.\n${stringify(chart, { lineWidth: 0 })}`,
    ],
    [
      'values.yaml',
      `# Generated by \`npm run gen\` (infra/helm/render.ts): every value is in README.md with its meaning.\n${stringify(values, { lineWidth: 0 })}`,
    ],
    ['README.md', readme],
  ]);
}

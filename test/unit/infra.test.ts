import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as knative from '@kubernetes-models/knative';
import * as k8s from 'kubernetes-models';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { type Stage, SUBSCRIPTIONS } from '../../events/types.ts';
import { renderCrdFiles } from '../../infra/crds/crd.ts';
import { brokerFilters, renderKnativeFiles } from '../../infra/knative/render.ts';
import { checkOpenApi } from '../support/openapi-check.ts';

const INFRA = new URL('../../infra/', import.meta.url).pathname;

function documentsIn(folder: string): Record<string, unknown>[] {
  return readdirSync(INFRA + folder)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) =>
      parseAllDocuments(readFileSync(`${INFRA}${folder}/${f}`, 'utf8')).map((d) => d.toJS() as Record<string, unknown>),
    )
    .filter(Boolean);
}

type Model = new (data: Record<string, unknown>) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/Namespace': k8s.v1.Namespace,
  'v1/ServiceAccount': k8s.v1.ServiceAccount,
  'v1/ConfigMap': k8s.v1.ConfigMap,
  'rbac.authorization.k8s.io/v1/ClusterRole': k8s.rbacAuthorizationK8sIo.v1.ClusterRole,
  'rbac.authorization.k8s.io/v1/Role': k8s.rbacAuthorizationK8sIo.v1.Role,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': k8s.rbacAuthorizationK8sIo.v1
    .ClusterRoleBinding as unknown as Model,
  'rbac.authorization.k8s.io/v1/RoleBinding': k8s.rbacAuthorizationK8sIo.v1.RoleBinding as unknown as Model,
  'networking.k8s.io/v1/NetworkPolicy': k8s.networkingK8sIo.v1.NetworkPolicy,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': k8s.apiextensionsK8sIo.v1
    .CustomResourceDefinition as unknown as Model,
  'serving.knative.dev/v1/Service': knative.servingKnativeDev.v1.Service,
  'eventing.knative.dev/v1/Broker': knative.eventingKnativeDev.v1.Broker,
  'eventing.knative.dev/v1/Trigger': knative.eventingKnativeDev.v1.Trigger,
  'sources.knative.dev/v1/ApiServerSource': knative.sourcesKnativeDev.v1.ApiServerSource,
  'sources.knative.dev/v1/SinkBinding': knative.sourcesKnativeDev.v1.SinkBinding,
  'sources.knative.dev/v1/PingSource': knative.sourcesKnativeDev.v1.PingSource,
};

interface Container {
  securityContext: unknown;
  resources: { requests: { memory?: string } };
  envFrom?: { secretRef?: { name: string } }[];
}
/** The fields these tests read, across the kinds they read them from. */
interface Manifest {
  kind: string;
  metadata: { name: string };
  roleRef: { name: string };
  subjects: { name: string }[];
  spec: {
    broker: string;
    filter: { attributes: { type: string; source?: string } };
    subscriber: { ref: { name: string } };
    delivery: { deadLetterSink: { ref: { name: string } } };
    template: {
      metadata?: { labels?: Record<string, string> };
      spec: { containers: Container[]; serviceAccountName: string };
    };
    podSelector: { matchLabels?: Record<string, string> };
  };
}

const all = [...documentsIn('crds'), ...documentsIn('rbac'), ...documentsIn('knative')];
const ofKind = (kind: string) => all.filter((d) => d['kind'] === kind) as unknown as Manifest[];

describe('infra manifests', () => {
  it('keeps the generated Services and Triggers identical to the code', () => {
    for (const [name, text] of renderKnativeFiles()) {
      expect(readFileSync(`${INFRA}knative/${name}`, 'utf8'), `infra/knative/${name} is stale: run npm run gen`).toBe(
        text,
      );
    }
  });

  it('validates every manifest against its Kubernetes or Knative schema', () => {
    expect(all.length).toBeGreaterThan(30);
    for (const document of all) {
      const key = `${String(document['apiVersion'])}/${String(document['kind'])}`;
      const model = MODELS[key];
      expect(model, `no schema for ${key}`).toBeDefined();
      expect(
        () => new (model as Model)(document).validate(),
        `${key} ${JSON.stringify(document['metadata'])}`,
      ).not.toThrow();
    }
  });

  it('routes every subscribed event type to its stage through a Trigger on the qpipe broker', () => {
    const services = new Set(ofKind('Service').map((s) => s.metadata.name));
    const triggers = ofKind('Trigger');
    for (const trigger of triggers) {
      expect(trigger.spec.broker).toBe('qpipe');
      expect(services.has(trigger.spec.subscriber.ref.name), `${trigger.metadata.name} has no subscriber Service`).toBe(
        true,
      );
    }
    for (const stage of Object.keys(SUBSCRIPTIONS) as Stage[]) {
      for (const filter of brokerFilters(stage)) {
        expect(
          triggers.some(
            (t) =>
              JSON.stringify(t.spec.filter.attributes) === JSON.stringify(filter) &&
              t.spec.subscriber.ref.name === `qpipe-${stage}`,
          ),
          `${stage} ← ${filter.type} from ${filter.source ?? 'anyone'}`,
        ).toBe(true);
      }
    }
    // Only job requests, their cancellations and the API server's events may come from outside the pipeline.
    const open = triggers.filter((t) => t.spec.filter.attributes.source === undefined);
    expect(new Set(open.map((t) => t.spec.filter.attributes.type))).toEqual(
      new Set([
        'io.quantum.job.requested',
        'io.quantum.job.cancel',
        'dev.knative.apiserver.resource.add',
        'dev.knative.apiserver.resource.update',
        'dev.knative.apiserver.resource.delete',
      ]),
    );
    const broker = ofKind('Broker')[0];
    expect(services.has(broker?.spec.delivery.deadLetterSink.ref.name ?? '')).toBe(true);
    expect(broker?.spec.delivery).toMatchObject({ retry: 10, backoffPolicy: 'exponential' });
  });

  it('runs every container restricted: non-root, read-only root, no escalation, seccomp, no capabilities', () => {
    for (const service of ofKind('Service')) {
      for (const container of service.spec.template.spec.containers) {
        expect(container.securityContext, service.metadata.name).toEqual({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          seccompProfile: { type: 'RuntimeDefault' },
          capabilities: { drop: ['ALL'] },
        });
        expect(container.resources.requests.memory).toBeDefined();
      }
    }
  });

  it('hands provider and SMTP credentials only to execute and notify', () => {
    for (const service of ofKind('Service').filter((s) => s.metadata.name !== 'qpipe-dead-letters')) {
      const secrets = service.spec.template.spec.containers.flatMap((c) =>
        (c.envFrom ?? []).flatMap((e) => (e.secretRef ? [e.secretRef.name] : [])),
      );
      const callsOut = ['qpipe-execute', 'qpipe-notify'].includes(service.metadata.name);
      expect(secrets.includes('qpipe-credentials'), service.metadata.name).toBe(callsOut);
    }
  });

  it('selects the stage pods with the NetworkPolicy (labels on the pod template, not only the Service)', () => {
    const [policy] = ofKind('NetworkPolicy');
    const selector = Object.entries(policy?.spec.podSelector.matchLabels ?? {});
    expect(selector.length).toBeGreaterThan(0);
    for (const service of ofKind('Service')) {
      const labels = service.spec.template.metadata?.labels ?? {};
      expect(
        selector.every(([k, v]) => labels[k] === v),
        `${service.metadata.name} pods`,
      ).toBe(true);
    }
  });

  it('grants status writes only to the stage that owns them, and secrets only to execute', () => {
    const bindings = [...ofKind('ClusterRoleBinding'), ...ofKind('RoleBinding')];
    const holders = (role: string) =>
      bindings.filter((b) => b.roleRef.name === role).flatMap((b) => b.subjects.map((s: { name: string }) => s.name));
    expect(holders('qpipe-write-job-status')).toEqual(['qpipe-status']);
    expect(holders('qpipe-write-budget-status')).toEqual(['qpipe-budget']);
    expect(holders('qpipe-provider-credentials')).toEqual(['qpipe-execute']);
    const serviceAccount = (stage: string) =>
      ofKind('Service').find((s) => s.metadata.name === `qpipe-${stage}`)?.spec.template.spec.serviceAccountName;
    expect(serviceAccount('collect-results')).toBe('qpipe-status');
    expect(serviceAccount('enforce-budget')).toBe('qpipe-budget');
    expect(serviceAccount('execute')).toBe('qpipe-execute');
    expect(serviceAccount('validate')).toBe('qpipe-reader');
  });

  it('validates every example manifest against the generated CRD schema', () => {
    const schemas = new Map(
      [...renderCrdFiles().values()].map((text) => {
        const crd = parse(text);
        return [crd.spec.names.kind as string, crd.spec.versions[0].schema.openAPIV3Schema as Record<string, unknown>];
      }),
    );
    const examples = readdirSync(new URL('../../examples/', import.meta.url)).filter((f) => f.endsWith('.yaml'));
    let checked = 0;
    for (const file of examples) {
      for (const document of parseAllDocuments(
        readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8'),
      )) {
        const value = document.toJS() as Record<string, unknown>;
        const schema = schemas.get(String(value['kind']));
        if (!schema) continue;
        expect(checkOpenApi(schema, value), `${file} ${String(value['kind'])}`).toEqual([]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
    // And the check can fail: a bad example is caught.
    expect(
      checkOpenApi(schemas.get('QiskitJob') as Record<string, unknown>, {
        apiVersion: 'quantum.io/v1',
        kind: 'QiskitJob',
        spec: { circuit: { source: 'x' } },
      }),
    ).not.toEqual([]);
  });

  it.skipIf(spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0)(
    'renders with kubectl kustomize',
    () => {
      const rendered = execFileSync('kubectl', ['kustomize', `${INFRA}knative`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const kinds = parseAllDocuments(rendered).map((d) => (d.toJS() as { kind: string }).kind);
      expect(kinds.filter((k) => k === 'CustomResourceDefinition')).toHaveLength(4);
      expect(kinds.filter((k) => k === 'Trigger').length).toBe(
        (Object.keys(SUBSCRIPTIONS) as Stage[]).flatMap(brokerFilters).length,
      );
      expect(kinds).toContain('ApiServerSource');
    },
  );

  it.skipIf(spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0)(
    'installs into another namespace with a kustomize overlay: nothing is left pointing at qpipe',
    () => {
      // Kustomize takes relative bases only.
      const overlay = mkdtempSync(join(INFRA, '.overlay-'));
      writeFileSync(
        join(overlay, 'kustomization.yaml'),
        `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: quantum-platform\nresources:\n  - ../knative\n`,
      );
      let rendered: string;
      try {
        rendered = execFileSync('kubectl', ['kustomize', overlay], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } finally {
        rmSync(overlay, { recursive: true, force: true });
      }
      const documents = parseAllDocuments(rendered).map((d) => d.toJS() as Record<string, unknown>);
      // Names may say qpipe; no namespace, address or subject may.
      const strings = (value: unknown, path: string): [string, string][] =>
        typeof value === 'string'
          ? [[path, value]]
          : value && typeof value === 'object'
            ? Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`))
            : [];
      const leftovers = documents.flatMap((d) =>
        strings(d, String(d['kind'])).filter(
          ([path, value]) =>
            /(^|\.)qpipe(\.svc|$)/.test(value) &&
            !/\.(labels|matchLabels|selector)\./.test(path) &&
            /\.(namespace|url|uri|value|host)$/i.test(path),
        ),
      );
      expect(leftovers).toEqual([]);
      // Settings live in the ConfigMap only: an explicit env would win over envFrom.
      const settings = Object.keys(
        (documents.find((d) => d['kind'] === 'ConfigMap') as { data: Record<string, string> }).data,
      );
      const services = documents.filter(
        (d) => d['kind'] === 'Service' && String(d['apiVersion']).startsWith('serving'),
      );
      for (const service of services) {
        const env = (service as { spec: { template: { spec: { containers: { env: { name: string }[] }[] } } } }).spec
          .template.spec.containers[0]?.env;
        expect(env?.map((e) => e.name).filter((name) => settings.includes(name))).toEqual([]);
        expect(env?.map((e) => e.name)).not.toContain('QPIPE_NAMESPACE');
      }
    },
  );
});

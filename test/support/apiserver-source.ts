/**
 * CloudEvents in the exact shape Knative's ApiServerSource receive adapter sends in
 * Resource mode (knative.dev/eventing, pkg/adapter/apiserver/events): type
 * dev.knative.apiserver.resource.{add,update,delete}, source = the API server's URL, subject
 * = the adapter's self-link guess (/apis/<apiVersion>/namespaces/<ns>/<lower(kind)>s/<name>),
 * a fresh random id on every delivery, and the whole object (status and managedFields
 * included) as JSON data. It lives in test/: the product never builds these.
 */
import { CloudEvent } from 'cloudevents';

/** Which lifecycle change the adapter saw. */
export type ResourceChange = 'add' | 'update' | 'delete';

/** The event the adapter sends for one change of one object. */
export function apiServerSourceEvent(
  change: ResourceChange,
  object: Record<string, unknown>,
  apiServer = 'https://10.96.0.1:443',
): CloudEvent<Record<string, unknown>> {
  const metadata = (object['metadata'] ?? {}) as { name?: string; namespace?: string };
  const kind = typeof object['kind'] === 'string' ? object['kind'].toLowerCase() : '';
  return new CloudEvent({
    specversion: '1.0',
    id: crypto.randomUUID(),
    type: `dev.knative.apiserver.resource.${change}`,
    source: apiServer,
    subject: `/apis/${String(object['apiVersion'])}/namespaces/${metadata.namespace ?? ''}/${kind}s/${metadata.name ?? ''}`,
    datacontenttype: 'application/json',
    data: object,
  });
}

/** What the emulation needs from an ApiServerSource manifest (infra/knative/sources.yaml). */
export interface ApiServerSourceSpec {
  readonly resources: readonly { readonly apiVersion: string; readonly kind: string }[];
  readonly namespaceSelector?: { readonly matchLabels?: Readonly<Record<string, string>> };
}

/** A running emulation of the receive adapter. */
export interface ApiServerSourceEmulation {
  /** Events sent, in order, and whether the sink took them. */
  readonly sent: { readonly type: string; readonly name: string; readonly accepted: boolean }[];
  /** What went wrong reading the cluster (a real adapter logs these). */
  readonly errors: string[];
  stop(): void;
}

/**
 * Runs the receive adapter's behaviour against a real API server: for each resource of
 * the spec, a cluster-wide list (an `add` for every existing object, as the adapter's
 * reflector does on start) then a watch (`add`, `update` for every change including status
 * writes, `delete`), only for objects in namespaces the namespaceSelector matches. Each
 * event is POSTed once: a failed delivery is dropped, as the adapter does.
 */
export async function startApiServerSource(options: {
  readonly kubeconfig: string;
  readonly sink: string;
  readonly spec: ApiServerSourceSpec;
  readonly apiServer: string;
}): Promise<ApiServerSourceEmulation> {
  const { CoreV1Api, KubeConfig, Watch } = await import('@kubernetes/client-node');
  const { HTTP } = await import('cloudevents');
  const kc = new KubeConfig();
  kc.loadFromFile(options.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const selector = Object.entries(options.spec.namespaceSelector?.matchLabels ?? {});
  const selected = async (namespace: string) => {
    if (selector.length === 0) return true;
    const labels = (await core.readNamespace({ name: namespace })).metadata?.labels ?? {};
    return selector.every(([k, v]) => labels[k] === v);
  };
  const sent: ApiServerSourceEmulation['sent'] = [];
  const errors: string[] = [];
  // One delivery at a time, in watch order, as the adapter's single sender does.
  let queue = Promise.resolve();
  const send = (change: ResourceChange, object: Record<string, unknown>) => {
    queue = queue.then(async () => {
      const metadata = (object['metadata'] ?? {}) as { name?: string; namespace?: string };
      const enabled = await selected(metadata.namespace ?? '').catch((error: unknown) => {
        errors.push(`reading namespace ${metadata.namespace}: ${(error as Error).message}`);
        return false;
      });
      if (!enabled) return;
      const event = apiServerSourceEvent(change, object, options.apiServer);
      const message = HTTP.binary(event);
      const accepted = await fetch(options.sink, {
        method: 'POST',
        headers: message.headers as Record<string, string>,
        body: message.body as string,
      })
        .then((r) => r.ok)
        .catch(() => false);
      sent.push({ type: event.type, name: `${metadata.namespace}/${metadata.name}`, accepted });
    });
  };
  const aborts: AbortController[] = [];
  for (const resource of options.spec.resources) {
    const plural = `${resource.kind.toLowerCase()}s`;
    const path = `/apis/${resource.apiVersion}/${plural}`;
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    const { request } = await import('node:https');
    // The adapter's reflector lists until it succeeds (a new CRD answers 429 while its cache fills).
    let list: { items: Record<string, unknown>[]; metadata: { resourceVersion: string } } | undefined;
    for (let attempt = 0; list === undefined; attempt++) {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          `${cluster?.server}${path}`,
          { rejectUnauthorized: false, headers: { authorization: `Bearer ${user?.token}` } },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        req.end();
      });
      if (status === 200) list = JSON.parse(body);
      else if (attempt > 50) throw new Error(`list ${path}: ${body}`);
      else await new Promise((r) => setTimeout(r, 200));
    }
    for (const item of list.items) send('add', { apiVersion: resource.apiVersion, kind: resource.kind, ...item });
    const watch = new Watch(kc);
    aborts.push(
      await watch.watch(
        path,
        { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: false },
        (phase, object: Record<string, unknown>) => {
          const changes: Partial<Record<string, 'add' | 'update' | 'delete'>> = {
            ADDED: 'add',
            MODIFIED: 'update',
            DELETED: 'delete',
          };
          const change = changes[phase];
          if (change) send(change, object);
        },
        (error: unknown) => {
          if (error) errors.push(`watch ${path} ended: ${(error as Error).message}`);
        },
      ),
    );
  }
  return { sent, errors, stop: () => aborts.forEach((a) => a.abort()) };
}

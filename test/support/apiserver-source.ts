/**
 * CloudEvents in the exact shape Knative's ApiServerSource receive adapter sends in
 * Resource mode (knative.dev/eventing, pkg/adapter/apiserver/events): type
 * dev.knative.apiserver.resource.{add,update,delete}, source = the API server's URL, subject
 * = the adapter's self-link guess (/apis/<apiVersion>/namespaces/<ns>/<lower(kind)>s/<name>),
 * a fresh random id on every delivery, and the whole object (status and managedFields
 * included) as JSON data, as the real adapter sends them in test/e2e/knative-cluster.test.ts.
 * For unit tests of the stages that read them; it lives in test/: the product never builds these.
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

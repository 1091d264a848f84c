/**
 * Which QiskitBackends a job sees. A backend applies to jobs of its own namespace; backends in
 * the qpipe installation's namespace apply to every namespace. So a tenant can price or
 * disable a backend for its own jobs, and never for anyone else's.
 */
import type { QiskitBackend } from '../resources/schema.ts';

/** The backends a job of `namespace` sees; its own namespace's override the installation's of the same name. */
export function visibleBackends(
  backends: readonly QiskitBackend[],
  namespace: string,
  installationNamespace: string,
): QiskitBackend[] {
  const byName = new Map<string, QiskitBackend>();
  for (const from of [installationNamespace, namespace]) {
    for (const backend of backends) {
      if ((backend.metadata.namespace ?? 'default') === from) byName.set(backend.metadata.name, backend);
    }
  }
  return [...byName.values()];
}

/**
 * Which QiskitBackends a job sees. A backend applies to jobs of its own namespace; backends in
 * the qpipe installation's namespace apply to every namespace. So a tenant can price or
 * disable a backend for its own jobs, and never for anyone else's.
 */
import type { Cluster } from '../cluster/cluster.ts';
import type { QpipeConfig } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import type { QiskitBackend } from '../resources/schema.ts';
import type { BackendEntry } from './backend.ts';
import { backendCatalog } from './catalog.ts';

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

/** Where a stage reads the catalog from. */
interface CatalogDeps {
  readonly cluster: Pick<Cluster, 'listBackends'>;
  readonly config: Pick<QpipeConfig, 'simulator' | 'namespace'>;
}

/** The catalog a job of `namespace` sees: built-in entries merged with the QiskitBackends it sees. */
export async function catalogFor(namespace: string, deps: CatalogDeps): Promise<BackendEntry[]> {
  return backendCatalog({
    simulatorMaxQubits: deps.config.simulator.maxQubits,
    resources: visibleBackends(await deps.cluster.listBackends(), namespace, deps.config.namespace),
  });
}

/** The entry of the backend a job was scheduled on; gone since (a deleted QiskitBackend) fails the job. */
export async function scheduledEntry(namespace: string, name: string, deps: CatalogDeps): Promise<BackendEntry> {
  const entry = (await catalogFor(namespace, deps)).find((e) => e.name === name);
  if (!entry) throw new InvalidInputError('backend', `backend ${name} no longer exists`);
  return entry;
}

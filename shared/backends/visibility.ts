/**
 * Which QiskitBackends a job sees. Prices and reach come from the operator: the built-in
 * catalog and the QiskitBackends of the installation's namespace apply to every namespace.
 * A tenant's own QiskitBackend applies to its own namespace's jobs, and only to narrow what
 * the operator offers (disable a device, fewer qubits, fewer gates or couplings, its own
 * priced local simulators): it can neither add a provider device, nor lower its price, nor
 * point a name at another device. One that tries is refused with the reason.
 */
import type { Cluster } from '../cluster/cluster.ts';
import type { QpipeConfig } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import type { Logger } from 'pino';
import { parsePricing, type Pricing } from '../pricing/pricing.ts';
import type { QiskitBackend } from '../resources/schema.ts';
import type { BackendEntry } from './backend.ts';
import { backendCatalog, mergeBackends } from './catalog.ts';

const namespaceOf = (backend: QiskitBackend) => backend.metadata.namespace ?? 'default';

/** A tenant's QiskitBackend that does not apply, and why. */
export interface RefusedBackend {
  readonly backend: QiskitBackend;
  readonly reason: string;
}

const PRICE_PARTS = [
  ['perTaskMicros', 'perTask'],
  ['perShotMicros', 'perShot'],
  ['perMinuteMicros', 'perMinute'],
  ['perSecondMicros', 'perSecond'],
  ['minimumSeconds', 'minimumSeconds'],
] as const satisfies readonly (readonly [keyof Pricing, string])[];

const subsetOf = <T>(some: readonly T[], all: readonly T[], key: (t: T) => string = String) => {
  const known = new Set(all.map(key));
  return some.every((item) => known.has(key(item)));
};

/**
 * Why a tenant's QiskitBackend may not apply over the operator's entries, or undefined when
 * it only narrows them. Provider devices (anything but the local simulator) are the
 * operator's to add and price.
 */
export function tenantBackendRefusal(backend: QiskitBackend, operator: readonly BackendEntry[]): string | undefined {
  const { name } = backend.metadata;
  const spec = backend.spec;
  const base = operator.find((entry) => entry.name === name);
  if (spec.provider === 'local_simulator') {
    if (base && base.type !== 'local_simulator') {
      return `names the ${base.type} device ${name}: a tenant may not give a provider device's name to another backend`;
    }
    return undefined;
  }
  if (!base) {
    return `reaches a ${spec.provider} device that the operator does not offer: provider devices are added in the installation's namespace`;
  }
  if (base.type !== spec.provider) return `changes ${name}'s provider from ${base.type} to ${spec.provider}`;
  if (spec.deviceId !== undefined && spec.deviceId !== base.deviceId) {
    return `points ${name} at another device (${spec.deviceId})`;
  }
  if (spec.region !== undefined && spec.region !== base.region) return `moves ${name} to region ${spec.region}`;
  if (spec.pricing) {
    const pricing = parsePricing(spec.pricing, `QiskitBackend ${name}: spec.pricing`);
    for (const [part, field] of PRICE_PARTS) {
      if (pricing[part] < base.pricing[part]) {
        return `prices ${name} below the operator's price (spec.pricing.${field}); a tenant may only charge more`;
      }
    }
  }
  if (spec.qubits !== undefined && spec.qubits > base.qubits) {
    return `gives ${name} ${spec.qubits} qubits, more than its ${base.qubits}`;
  }
  if (spec.supportedGates && base.supportedGates && !subsetOf(spec.supportedGates, base.supportedGates)) {
    return `adds gates that ${name} does not take`;
  }
  if (spec.connectivity && base.connectivity) {
    const pair = (p: readonly number[]) => p.join('-');
    if (!subsetOf(spec.connectivity, base.connectivity, pair)) return `adds couplings that ${name} does not have`;
  }
  return undefined;
}

/** The backends a job of `namespace` sees, and its namespace's that are refused. */
export function visibleBackends(
  backends: readonly QiskitBackend[],
  namespace: string,
  options: { readonly installationNamespace: string; readonly simulatorMaxQubits: number },
): { readonly operator: QiskitBackend[]; readonly tenant: QiskitBackend[]; readonly refused: RefusedBackend[] } {
  const operator = backends.filter((b) => namespaceOf(b) === options.installationNamespace);
  if (namespace === options.installationNamespace) return { operator, tenant: [], refused: [] };
  const offered = backendCatalog({ simulatorMaxQubits: options.simulatorMaxQubits, resources: operator });
  const tenant: QiskitBackend[] = [];
  const refused: RefusedBackend[] = [];
  for (const backend of backends.filter((b) => namespaceOf(b) === namespace)) {
    const reason = tenantBackendRefusal(backend, offered);
    if (reason === undefined) tenant.push(backend);
    else refused.push({ backend, reason });
  }
  return { operator, tenant, refused };
}

/**
 * Every tenant QiskitBackend among `backends` that is refused, as an error naming the document:
 * commands that apply or run files stop on these before anything runs.
 */
export function backendRefusals(
  backends: readonly QiskitBackend[],
  config: Pick<QpipeConfig, 'simulator' | 'namespace'>,
): InvalidInputError[] {
  const options = { installationNamespace: config.namespace, simulatorMaxQubits: config.simulator.maxQubits };
  const namespaces = new Set(backends.map(namespaceOf));
  return [...namespaces].flatMap((namespace) =>
    visibleBackends(backends, namespace, options).refused.map(
      ({ backend, reason }) => new InvalidInputError(`QiskitBackend ${namespace}/${backend.metadata.name}`, reason),
    ),
  );
}

/** Where a stage reads the catalog from. */
interface CatalogDeps {
  readonly cluster: Pick<Cluster, 'listBackends'>;
  readonly config: Pick<QpipeConfig, 'simulator' | 'namespace'>;
  readonly log?: Logger;
}

/** The catalog a job of `namespace` sees: built-in entries, the operator's QiskitBackends, then its namespace's allowed ones. */
export async function catalogFor(namespace: string, deps: CatalogDeps): Promise<BackendEntry[]> {
  const options = { installationNamespace: deps.config.namespace, simulatorMaxQubits: deps.config.simulator.maxQubits };
  const { operator, tenant, refused } = visibleBackends(await deps.cluster.listBackends(), namespace, options);
  for (const { backend, reason } of refused) {
    deps.log?.warn({ backend: `${namespace}/${backend.metadata.name}`, reason }, 'refused a tenant QiskitBackend');
  }
  const offered = backendCatalog({ simulatorMaxQubits: options.simulatorMaxQubits, resources: operator });
  return mergeBackends(offered, tenant);
}

/** The entry of the backend a job was scheduled on; gone since (a deleted QiskitBackend) fails the job. */
export async function scheduledEntry(namespace: string, name: string, deps: CatalogDeps): Promise<BackendEntry> {
  const entry = (await catalogFor(namespace, deps)).find((e) => e.name === name);
  if (!entry) throw new InvalidInputError('backend', `backend ${name} no longer exists`);
  return entry;
}

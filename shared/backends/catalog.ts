/** The backends a deployment knows: built-in entries merged with QiskitBackend resources. */
import { InvalidInputError } from '../errors.ts';
import { catalogPricing, FREE, parsePricing } from '../pricing/pricing.ts';
import type { BackendType, QiskitBackend } from '../resources/schema.ts';
import type { BackendEntry } from './backend.ts';
import devices from './devices.json' with { type: 'json' };
import { IBM_DEVICES } from './ibm/devices.ts';

/** Name of the built-in simulator entry. */
export const LOCAL_SIMULATOR = 'local-simulator';

interface DeviceEntry {
  readonly name: string;
  readonly type: BackendType;
  readonly deviceId: string;
  readonly qubits: number;
  readonly pricing: string;
  readonly region?: string;
  readonly supportedGates?: readonly string[];
}

/** Built-in entries: the local simulator (qubits from its memory limit), the provider devices in devices.json and the IBM systems. */
export function builtinBackends(options: { simulatorMaxQubits: number }): BackendEntry[] {
  const providerDevices = (devices.devices as DeviceEntry[]).map((device): BackendEntry => ({
    name: device.name,
    type: device.type,
    deviceId: device.deviceId,
    qubits: device.qubits,
    pricing: catalogPricing(device.pricing) ?? FREE,
    enabled: true,
    origin: 'builtin',
    ...(device.region === undefined ? {} : { region: device.region }),
    ...(device.supportedGates === undefined ? {} : { supportedGates: device.supportedGates }),
  }));
  // IBM systems: every one the transpiler has a snapshot of (not listed in devices.json).
  const ibmSystems = [...IBM_DEVICES.values()].map((device): BackendEntry => ({
    name: device.name,
    type: 'ibm_quantum',
    deviceId: device.name,
    qubits: device.qubits,
    pricing: catalogPricing('ibm-quantum') ?? FREE,
    enabled: true,
    origin: 'builtin',
    supportedGates: device.basisGates,
  }));
  return [
    {
      name: LOCAL_SIMULATOR,
      type: 'local_simulator',
      qubits: options.simulatorMaxQubits,
      pricing: FREE,
      enabled: true,
      origin: 'builtin',
    },
    ...providerDevices,
    ...ibmSystems,
  ];
}

/**
 * Merges QiskitBackend resources over the built-in entries: a resource with a built-in's
 * name overrides the fields it sets; any other name adds an entry.
 */
export function mergeBackends(builtins: readonly BackendEntry[], resources: readonly QiskitBackend[]): BackendEntry[] {
  const byName = new Map(builtins.map((b) => [b.name, b]));
  for (const resource of resources) {
    const name = resource.metadata.name;
    const base = byName.get(name);
    const spec = resource.spec;
    const where = `QiskitBackend ${name}: spec`;
    if (!base && spec.provider !== 'local_simulator' && spec.qubits === undefined) {
      throw new InvalidInputError(`${where}.qubits`, 'is required for a backend that is not in the built-in catalog');
    }
    const simulator = builtins.find((b) => b.type === 'local_simulator');
    byName.set(name, {
      name,
      type: spec.provider,
      ...optional('deviceId', spec.deviceId ?? base?.deviceId),
      qubits: spec.qubits ?? base?.qubits ?? simulator?.qubits ?? 0,
      pricing: spec.pricing ? parsePricing(spec.pricing, `${where}.pricing`) : (base?.pricing ?? FREE),
      enabled: spec.enabled,
      origin: 'resource',
      ...optional('region', spec.region ?? base?.region),
      ...optional('supportedGates', spec.supportedGates ?? base?.supportedGates),
      ...optional('connectivity', (spec.connectivity as [number, number][] | undefined) ?? base?.connectivity),
    });
  }
  return [...byName.values()];
}

/** `{ [name]: value }` when the value is set, else nothing (exactOptionalPropertyTypes). */
function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

/** Every backend a deployment knows: the built-ins, with QiskitBackend resources merged over them. */
export function backendCatalog(options: {
  simulatorMaxQubits: number;
  resources: readonly QiskitBackend[];
}): BackendEntry[] {
  return mergeBackends(builtinBackends({ simulatorMaxQubits: options.simulatorMaxQubits }), options.resources);
}

/** The backends a deployment knows: built-in entries merged with QiskitBackend resources. */
import { InvalidInputError } from '../errors.ts';
import { FREE, parsePricing } from '../pricing/pricing.ts';
import type { QiskitBackend } from '../resources/schema.ts';
import type { BackendEntry } from './backend.ts';

/** Name of the built-in simulator entry. */
export const LOCAL_SIMULATOR = 'local-simulator';

/** Built-in entries; the simulator's qubit count comes from its memory limit. */
export function builtinBackends(options: { simulatorMaxQubits: number }): BackendEntry[] {
  return [
    {
      name: LOCAL_SIMULATOR,
      type: 'local_simulator',
      qubits: options.simulatorMaxQubits,
      pricing: FREE,
      enabled: true,
      origin: 'builtin',
    },
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
      ...(spec.deviceId === undefined ? {} : { deviceId: spec.deviceId }),
      qubits: spec.qubits ?? base?.qubits ?? simulator?.qubits ?? 0,
      pricing: spec.pricing ? parsePricing(spec.pricing, `${where}.pricing`) : (base?.pricing ?? FREE),
      enabled: spec.enabled,
      origin: 'resource',
    });
  }
  return [...byName.values()];
}

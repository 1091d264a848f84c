/**
 * Work remembered per compiled circuit and key: circuits are compiled once per process
 * (compile-cache.ts), select-backend checks every candidate device and execute sends to the
 * chosen one, so translating or transpiling a circuit for a device is done once. A refusal
 * is remembered too. Entries go with their circuit (a WeakMap).
 */
import type { Circuit } from '../qasm/circuit.ts';

/** A memo of `compute(circuit)` by circuit and key, rethrowing a remembered error. */
export function perCircuit<T>(): (circuit: Circuit, key: string, compute: () => T) => T {
  const results = new WeakMap<Circuit, Map<string, T | Error>>();
  return (circuit, key, compute) => {
    let byKey = results.get(circuit);
    if (!byKey) results.set(circuit, (byKey = new Map<string, T | Error>()));
    let result = byKey.get(key);
    if (result === undefined) {
      try {
        result = compute();
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        result = error;
      }
      byKey.set(key, result);
    }
    if (result instanceof Error) throw result;
    return result;
  };
}

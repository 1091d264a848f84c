/** Builders of test manifests. */
import type { QiskitBudget, QiskitJob } from '../../shared/resources/schema.ts';

/** OpenQASM 2 Bell circuit. */
export const BELL_QASM = `OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
`;

/** A QiskitJob manifest with the Bell circuit; `spec` fields override. */
export function jobManifest(
  name: string,
  spec: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'quantum.io/v1',
    kind: 'QiskitJob',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, generation: 1, ...metadata },
    spec: { circuit: { source: 'inline', code: BELL_QASM }, execution: { shots: 100, seedSimulator: 1 }, ...spec },
  } satisfies Partial<QiskitJob>;
}

/** A QiskitBudget. */
export function budget(name: string, spec: Partial<QiskitBudget['spec']> = {}, namespace = 'default'): QiskitBudget {
  return {
    apiVersion: 'quantum.io/v1',
    kind: 'QiskitBudget',
    metadata: { name, namespace },
    spec: { limit: '$10.00', period: 'monthly', alertThresholds: [50, 75, 90, 100], ...spec },
  };
}

/** A $1.50 monthly budget and a simulator at $0.01 a shot in namespace default, as a manifest file holds them. */
export const PRICED_RESOURCES_YAML = `apiVersion: quantum.io/v1
kind: QiskitBudget
metadata: { name: team, namespace: default }
spec: { limit: "$1.50", period: monthly }
---
apiVersion: quantum.io/v1
kind: QiskitBackend
metadata: { name: priced, namespace: default }
spec: { provider: local_simulator, pricing: { perShot: "$0.01" } }
`;

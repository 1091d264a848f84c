import { describe, expect, it } from 'vitest';
import { catalogFor, visibleBackends } from '../../../shared/backends/visibility.ts';
import { loadConfig } from '../../../shared/config.ts';
import type { QiskitBackend, QiskitBackendSpec } from '../../../shared/resources/schema.ts';

const backend = (name: string, namespace: string, spec: Partial<QiskitBackendSpec>): QiskitBackend => ({
  apiVersion: 'quantum.io/v1',
  kind: 'QiskitBackend',
  metadata: { name, namespace },
  spec: { provider: 'aws_braket', enabled: true, ...spec },
});
const options = { installationNamespace: 'qpipe', simulatorMaxQubits: 20 };
const config = { ...loadConfig({ QPIPE_SIMULATOR_MAX_MEMORY: '1GiB' }), namespace: 'qpipe' };
const catalog = (backends: QiskitBackend[], namespace: string) =>
  catalogFor(namespace, { cluster: { listBackends: () => Promise.resolve(backends) }, config });

describe('which QiskitBackends a job sees', () => {
  const installed = backend('ionq-forte', 'qpipe', { pricing: { perTask: '$0.30', perShot: '$0.09' } });
  const tenantFree = backend('ionq-forte', 'mallory', { pricing: { perTask: '$0.00', perShot: '$0.00' } });
  const tenantSimulator = backend('team-sim', 'alice', { provider: 'local_simulator', pricing: { perShot: '$0.01' } });
  const all = [installed, tenantFree, tenantSimulator];

  it("never another namespace's: mallory's $0 ionq-forte does not price alice's jobs", () => {
    expect(visibleBackends(all, 'alice', options)).toEqual({
      operator: [installed],
      tenant: [tenantSimulator],
      refused: [],
    });
  });

  it("refuses a tenant's QiskitBackend that prices a provider device below the operator's price", async () => {
    const seen = visibleBackends(all, 'mallory', options);
    expect(seen.tenant).toEqual([]);
    expect(seen.refused.map((r) => r.reason)).toEqual([expect.stringMatching(/below the operator's price/)]);
    const forte = (await catalog(all, 'mallory')).find((b) => b.name === 'ionq-forte');
    expect(forte?.pricing.perShotMicros).toBe(90_000);
  });

  it.each([
    [
      'a $0 catalog device with no operator override',
      backend('ionq-forte', 'mallory', { pricing: { perShot: '$0.00' } }),
      /below the operator's price/,
    ],
    [
      'a new name for a paid device',
      backend('cheap-qpu', 'mallory', { deviceId: 'arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1', qubits: 36 }),
      /does not offer/,
    ],
    [
      'a catalog name pointed at another device',
      backend('ionq-forte', 'mallory', { deviceId: 'arn:aws:braket:::device/quantum-simulator/amazon/sv1' }),
      /another device/,
    ],
    [
      'a catalog name given to a local simulator',
      backend('ionq-forte', 'mallory', { provider: 'local_simulator' }),
      /may not give a provider device's name/,
    ],
    [
      'a catalog device with a different provider',
      backend('ionq-forte', 'mallory', { provider: 'ibm_quantum' }),
      /changes ionq-forte's provider/,
    ],
    ['more qubits than the device has', backend('ionq-forte', 'mallory', { qubits: 1000 }), /more than its/],
  ])('refuses %s', (_what, document, reason) => {
    expect(visibleBackends([document], 'mallory', options).refused.map((r) => r.reason)).toEqual([
      expect.stringMatching(reason),
    ]);
  });

  it.each([
    ['disabling a device', backend('ionq-forte', 'alice', { enabled: false })],
    ['charging more for it', backend('ionq-forte', 'alice', { pricing: { perTask: '$0.30', perShot: '$0.20' } })],
    ['fewer qubits', backend('ionq-forte', 'alice', { qubits: 10 })],
    ['its own priced local simulator', tenantSimulator],
  ])('lets a tenant narrow what its jobs use: %s', (_what, document) => {
    expect(visibleBackends([document], document.metadata.namespace ?? '', options).refused).toEqual([]);
  });

  it("applies the installation's namespace's QiskitBackends to every namespace, unrestricted", async () => {
    const added = backend('lab-qpu', 'qpipe', {
      deviceId: 'arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1',
      qubits: 36,
      pricing: { perShot: '$0.05' },
    });
    const entries = await catalog([added], 'bob');
    expect(entries.find((b) => b.name === 'lab-qpu')).toMatchObject({ type: 'aws_braket', qubits: 36 });
  });
});

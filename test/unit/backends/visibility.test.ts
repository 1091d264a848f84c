import { describe, expect, it } from 'vitest';
import { visibleBackends } from '../../../shared/backends/visibility.ts';
import type { QiskitBackend } from '../../../shared/resources/schema.ts';

const backend = (name: string, namespace: string, perShot: string): QiskitBackend => ({
  apiVersion: 'quantum.io/v1',
  kind: 'QiskitBackend',
  metadata: { name, namespace },
  spec: { provider: 'aws_braket', pricing: { perShot }, enabled: true },
});

describe('which QiskitBackends a job sees', () => {
  const installed = backend('ionq-forte', 'qpipe', '$0.08');
  const tenantFree = backend('ionq-forte', 'mallory', '$0.00');
  const tenantOwn = backend('team-sv1', 'alice', '$0.01');
  const all = [installed, tenantFree, tenantOwn];

  it("never another namespace's: mallory's $0 ionq-forte does not price alice's jobs", () => {
    expect(visibleBackends(all, 'alice', 'qpipe')).toEqual([installed, tenantOwn]);
  });

  it("its own namespace's, which override the installation's of the same name for that namespace only", () => {
    expect(visibleBackends(all, 'mallory', 'qpipe')).toEqual([tenantFree]);
    expect(visibleBackends(all, 'bob', 'qpipe')).toEqual([installed]);
  });
});

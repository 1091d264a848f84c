/**
 * collect-results' record of budget and backend changes, from API-server events (in the shape
 * Knative's ApiServerSource sends them) against a cluster that answers as an API server
 * holding the given objects would; the store is in memory.
 */
import { describe, expect, it } from 'vitest';
import { stage as collectStage } from '../../../functions/collect-results/handler.ts';
import type { HeldObject } from '../../../shared/cluster/cluster.ts';
import { readResourceChanges } from '../../../shared/resource-audit.ts';
import { runStage } from '../../../shared/runtime/stage.ts';
import { apiServerSourceEvent } from '../../support/apiserver-source.ts';
import { memoryPorts, withHeldObjects } from '../../support/memory-ports.ts';

const UID = '0f6c1c5e-budget';

/** The budget as the event says it is. */
const sent = (generation: number, limit: string, status: Record<string, unknown> = {}) => ({
  apiVersion: 'quantum.io/v1',
  kind: 'QiskitBudget',
  metadata: {
    name: 'monthly',
    namespace: 'team',
    uid: UID,
    generation,
    annotations: { 'quantum.io/requested-by': 'mallory' },
  },
  spec: { limit, period: 'monthly' },
  status,
});

/** The cluster holding the budget at that generation, stamped by `user`; counts its reads. */
function cluster(generation: number, limit: string, user: string, store = memoryPorts().store) {
  const held: HeldObject & { kind: 'QiskitBudget'; namespace: string; name: string } = {
    kind: 'QiskitBudget',
    namespace: 'team',
    name: 'monthly',
    uid: UID,
    generation,
    annotations: { 'quantum.io/requested-by': user },
    spec: { limit, period: 'monthly' },
  };
  const ports = withHeldObjects(memoryPorts(), [held]);
  const reads = { count: 0 };
  const findObject = ports.cluster.findObject.bind(ports.cluster);
  ports.cluster.findObject = (...args) => (reads.count++, findObject(...args));
  return { ports: { ...ports, store }, reads };
}

const changes = (ports: ReturnType<typeof memoryPorts>) =>
  readResourceChanges(ports.store, 'QiskitBudget', 'team', 'monthly');

describe('collect-results: the audit trail of budget and backend changes', () => {
  it('records each version as the cluster holds it, with the user stamped at admission, never what the event claims', async () => {
    const store = memoryPorts().store;
    const first = cluster(1, '$10.00', 'carol', store);
    await runStage(collectStage, apiServerSourceEvent('add', sent(1, '$99,999.00')), first.ports);
    // enforce-budget's status writes send updates of the same generation: nothing new, no read.
    const reads = first.reads.count;
    await runStage(collectStage, apiServerSourceEvent('update', sent(1, '$10.00', { spent: '$1.00' })), first.ports);
    expect(first.reads.count).toBe(reads);
    const second = cluster(2, '$50.00', 'dave', store);
    await runStage(collectStage, apiServerSourceEvent('update', sent(2, '$50.00')), second.ports);
    expect((await changes(second.ports)).map((c) => [c.change, c.by, c.spec])).toEqual([
      ['created', 'Kubernetes user carol', { limit: '$10.00', period: 'monthly' }],
      ['changed', 'Kubernetes user dave', { limit: '$50.00', period: 'monthly' }],
    ]);
  });

  it('records nothing for an event the cluster does not confirm, nor for a deletion of a budget still there', async () => {
    const { ports } = cluster(1, '$10.00', 'carol');
    const forged = { ...sent(1, '$10.00'), metadata: { ...sent(1, '$10.00').metadata, uid: 'forged-uid' } };
    await runStage(collectStage, apiServerSourceEvent('add', forged), ports);
    await runStage(collectStage, apiServerSourceEvent('delete', sent(1, '$10.00')), ports);
    expect(await changes(ports)).toEqual([]);
    // Gone from the cluster, its deletion is recorded once.
    const gone = { ...withHeldObjects(memoryPorts(), []), store: ports.store };
    await runStage(collectStage, apiServerSourceEvent('delete', sent(1, '$10.00')), gone);
    await runStage(collectStage, apiServerSourceEvent('delete', sent(1, '$10.00')), gone);
    expect((await changes(ports)).map((c) => c.change)).toEqual(['deleted']);
  });

  it('leaves events about other kinds to the stages they concern', async () => {
    const { ports, reads } = cluster(1, '$10.00', 'carol');
    const session = { ...sent(1, '$10.00'), kind: 'QiskitSession' };
    expect((await runStage(collectStage, apiServerSourceEvent('add', session), ports)).emitted).toEqual([]);
    expect(reads.count).toBe(0);
  });
});

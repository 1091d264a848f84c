/** The ingress inbox replays acknowledged requests whose own run has not finished (memory store, local cluster). */
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { LocalCluster } from '../../shared/cluster/local-cluster.ts';
import { jobRefOf } from '../../shared/job-validation.ts';
import { Inbox } from '../../shared/runtime/inbox.ts';
import { jobManifest } from '../support/manifests.ts';
import { MemoryObjectStore } from '../support/memory-ports.ts';

describe('ingress inbox', () => {
  it('matches a request without a uid to its own run: another finished job of the same name does not drop it', async () => {
    const store = new MemoryObjectStore();
    const cluster = new LocalCluster({ budgets: [], backends: [], configMaps: [] }, store);
    const inbox = new Inbox(store, cluster);
    const first = jobManifest('bell', { execution: { shots: 100 } }, { uid: undefined });
    const second = jobManifest('bell', { execution: { shots: 200 } }, { uid: undefined });
    const request = (job: Record<string, unknown>) => buildEvent(EventType.JobRequested, { job }, { source: '/ci' });
    await inbox.add(request(first));
    await inbox.add(request(second));

    // The first run finished (its status is kept under the uid validate derived for it).
    await cluster.updateJobStatus(jobRefOf(first, { from: 'request' }), () => ({ phase: 'Succeeded' }));
    const replayed = await inbox.unfinished();
    expect(replayed.map((e) => (e.data as { job: typeof second }).job)).toEqual([second]);
    // The finished one is forgotten; the other stays until its run is final too.
    expect(await inbox.unfinished()).toHaveLength(1);
    await cluster.updateJobStatus(jobRefOf(second, { from: 'request' }), () => ({ phase: 'Failed' }));
    expect(await inbox.unfinished()).toEqual([]);
    expect([...store.objects.keys()].filter((k) => k.startsWith('inbox/'))).toEqual([]);
  });
});

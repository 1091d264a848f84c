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
    const inbox = new Inbox(store, cluster, 4);
    const first = jobManifest('bell', { execution: { shots: 100 } }, { uid: undefined });
    const second = jobManifest('bell', { execution: { shots: 200 } }, { uid: undefined });
    const request = (job: Record<string, unknown>) => buildEvent(EventType.JobRequested, { job }, { source: '/ci' });
    await inbox.add(request(first));
    await inbox.add(request(second));

    // The first run finished (its status is kept under the uid validate derived for it).
    await cluster.updateJobStatus(jobRefOf(first, { from: 'request' }), () => ({ phase: 'Succeeded' }));
    await inbox.stoppedCleanly();
    const { replay } = await inbox.unfinished();
    expect(replay.map((e) => (e.data as { job: typeof second }).job)).toEqual([second]);
    // The finished one is forgotten; the other stays until its run is final too.
    await inbox.stoppedCleanly();
    expect((await inbox.unfinished()).replay).toHaveLength(1);
    await cluster.updateJobStatus(jobRefOf(second, { from: 'request' }), () => ({ phase: 'Failed' }));
    expect((await inbox.unfinished()).replay).toEqual([]);
    expect([...store.objects.keys()].filter((k) => k.startsWith('inbox/'))).toEqual([]);
  });

  it('counts the crashes a request sees, and quarantines one that kept killing the server, naming its job', async () => {
    const store = new MemoryObjectStore();
    const cluster = new LocalCluster({ budgets: [], backends: [], configMaps: [] }, store);
    const inbox = new Inbox(store, cluster, 3);
    const poison = jobManifest('poison', {}, { uid: undefined });
    await inbox.add(buildEvent(EventType.JobRequested, { job: poison }, { source: '/ci' }));
    // Clean stops (a deploy) count nothing, however many.
    for (let stop = 0; stop < 5; stop++) {
      await inbox.stoppedCleanly();
      expect((await inbox.unfinished()).replay).toHaveLength(1);
    }
    // Starts after a crash (no clean stop) do: the third is one too many.
    expect((await inbox.unfinished()).replay).toHaveLength(1);
    expect((await inbox.unfinished()).replay).toHaveLength(1);
    const third = await inbox.unfinished();
    expect(third.replay).toEqual([]);
    expect(third.quarantined.map((q) => [q.job, q.crashes])).toEqual([[jobRefOf(poison, { from: 'request' }), 3]]);
    const letters = [...store.objects.keys()].filter((k) => k.startsWith('dead-letters/'));
    expect(letters).toHaveLength(1);
    expect([...store.objects.keys()].filter((k) => k.startsWith('inbox/'))).toEqual([]);
  });
});

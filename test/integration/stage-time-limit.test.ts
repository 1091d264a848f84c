/**
 * A stage server (real HTTP, in process) whose time limit passes mid-simulation: the
 * simulator's worker threads are stopped, the job fails with the reason (releasing its
 * reservation through the failed event), and the in-progress claim is released.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildJobEvent, parseEvent } from '../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import type { EventData } from '../../events/schemas.ts';
import { EventType } from '../../events/types.ts';
import { stage as executeStage } from '../../functions/execute/handler.ts';
import type { HttpHost } from '../../shared/runtime/http-host.ts';
import { eventFromHttp, eventToHttp } from '../../shared/runtime/http-binding.ts';
import { createStageServer } from '../../shared/runtime/knative.ts';
import { memoryPorts, received, reserved } from '../support/memory-ports.ts';

const approvedExample = parseEvent(EXAMPLE_EVENTS[EventType.JobApproved]).data as EventData<
  typeof EventType.JobApproved
>;

/** 20 qubits, deep enough to keep two threads busy for seconds. */
function slowCircuit(): string {
  const lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', 'qreg q[20];', 'creg c[20];'];
  for (let layer = 0; layer < 80; layer++) {
    for (let i = 0; i < 20; i++) lines.push(`ry(${0.1 + layer * 0.01 + i * 0.003}) q[${i}];`);
    for (let i = layer % 2; i + 1 < 20; i += 2) lines.push(`cx q[${i}], q[${i + 1}];`);
  }
  return `${lines.join('\n')}\nmeasure q -> c;\n`;
}

describe('a stage server at its time limit (real HTTP, in-process stage)', () => {
  let server: HttpHost | undefined;
  afterEach(async () => server?.shutdown());

  it('stops the simulation, fails the job with the reason and its budget, and releases the claim', async () => {
    const ports = memoryPorts();
    server = createStageServer({ stage: executeStage, ports, timeoutMs: 400 });
    const url = await server.listen(0, '127.0.0.1');
    const code = slowCircuit();
    const approved = buildJobEvent(
      EventType.JobApproved,
      {
        ...approvedExample,
        circuit: { format: 'qasm2', hash: 'sha256:0', bytes: code.length, code },
        spec: { ...approvedExample.spec, execution: { shots: 10 } },
      },
      approvedExample.job,
      { source: '/qpipe/enforce-budget' },
    );
    await reserved(ports, approved);
    const started = performance.now();
    const response = await fetch(url, { method: 'POST', ...eventToHttp(approved) });
    const elapsed = performance.now() - started;
    expect(response.status).toBe(200);
    const failed = received(
      eventFromHttp({ headers: Object.fromEntries(response.headers.entries()), body: await response.text() }),
    );
    if (failed.type !== EventType.JobFailed) throw new Error(failed.type);
    expect(failed.data.reason).toMatch(/time limit of 0.4 s/);
    expect(failed.data.budget).toEqual(approvedExample.budget);
    // Answered soon after the limit, not after the simulation would have finished.
    expect(elapsed).toBeLessThan(1_500);
    const lease = JSON.parse(
      Buffer.from(
        ports.store.objects.get(`claims/execute/${approvedExample.job.uid}-${approvedExample.job.generation}/0`) ??
          new Uint8Array(),
      ).toString(),
    );
    expect(lease.expiresAt).toBe(0);
  });
});

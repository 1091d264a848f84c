/**
 * `qpipe serve` fed the inputs that once crashed or stalled it (child processes, real HTTP, the
 * store on disk): each ends in a final phase with a reason, health answers within a second
 * throughout, SIGTERM is honoured within its grace period, and a restart on the same store
 * replays nothing that could kill it.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { startServe } from '../support/cli.ts';
import { jobManifest } from '../support/manifests.ts';

const OQ3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n';
let chain = `${OQ3}gate g0 a { x a; }\n`;
for (let level = 1; level <= 40; level++)
  chain += `gate g${level} a { for int i in [0:1] { inv @ g${level - 1} a; } }\n`;

/** Each input, and the phase it must end in. */
const INPUTS: Record<string, { code: string; phase: string }> = {
  'pow-bomb': {
    code: `${OQ3}gate g a, b { h a; cx a, b; }\nqubit[2] q;\npow(2**30) @ g q[0], q[1];\n`,
    phase: 'Succeeded',
  },
  'measure-loop': {
    code: `${OQ3}qubit[64] q;\nbit[64] c;\nfor int i in [0:999999] { c = measure q; }\n`,
    phase: 'Rejected',
  },
  'barrier-loop': { code: `${OQ3}qubit[1000] q;\nfor int i in [0:999999] { barrier; }\n`, phase: 'Rejected' },
  'inv-chain': { code: `${chain}qubit q;\ng40 q;\n`, phase: 'Rejected' },
  'long-sum': { code: `${OQ3}qubit q;\nrx(${Array(10_000).fill('1').join('+')}) q;\n`, phase: 'Rejected' },
  'million-gates': { code: `${OQ3}qubit[4] q;\nfor int i in [0:229999] { h q; }\n`, phase: 'Succeeded' },
};

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

async function post(url: string, name: string, code: string): Promise<number> {
  const job = jobManifest(name, { circuit: { source: 'inline', code }, execution: { shots: 10 } }, { uid: undefined });
  const message = HTTP.binary(buildEvent(EventType.JobRequested, { job }, { source: '/ci' }));
  const response = await fetch(url, {
    method: 'POST',
    headers: message.headers as Record<string, string>,
    body: message.body as string,
  });
  return response.status;
}

async function phaseOf(url: string, name: string): Promise<{ phase?: string; message?: string } | undefined> {
  const response = await fetch(`${url}/jobs/default/${name}`);
  return response.status === 200 ? ((await response.json()) as { status: { phase?: string } }).status : undefined;
}

describe('qpipe serve against hostile input (child process, real HTTP, store on disk)', () => {
  it('ends every hostile input with a reason while health answers within a second, stops on SIGTERM in time, and restarts clean', async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-hostile-'));
    const env = { QPIPE_STORE: store, QPIPE_SIMULATOR_MAX_MEMORY: '1GiB' };
    let server = await startServe(['--port', '0'], env);
    const names = Object.keys(INPUTS);
    for (const name of names) expect(await post(server.url, name, INPUTS[name]!.code), name).toBe(202);

    // Health is asked every 100 ms until every job is final: the slowest answer is the figure.
    let slowest = 0;
    const deadline = Date.now() + 90_000;
    let phases: Record<string, string | undefined> = {};
    while (Date.now() < deadline) {
      const asked = performance.now();
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      slowest = Math.max(slowest, performance.now() - asked);
      phases = Object.fromEntries(
        await Promise.all(names.map(async (n) => [n, (await phaseOf(server.url, n))?.phase])),
      );
      if (Object.values(phases).every((p) => p === 'Succeeded' || p === 'Failed' || p === 'Rejected')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(phases).toEqual(Object.fromEntries(names.map((n) => [n, INPUTS[n]!.phase])));
    expect(slowest).toBeLessThan(1000);
    expect((await phaseOf(server.url, 'barrier-loop'))?.message).toMatch(
      /maxOperations|measurements, resets, barriers/,
    );

    // SIGTERM ends it within the promised 25 s, busy or not.
    const busy = await post(server.url, 'busy', INPUTS['million-gates']!.code);
    expect(busy).toBe(202);
    const stopping = Date.now();
    server.process.kill('SIGTERM');
    await exited(server.process);
    expect(Date.now() - stopping).toBeLessThan(25_000);

    // Restarted on the same store: what ended stays ended, the unfinished one finishes, nothing kills it.
    server = await startServe(['--port', '0'], env);
    try {
      const until = Date.now() + 60_000;
      let busyPhase = await phaseOf(server.url, 'busy');
      while (busyPhase?.phase !== 'Succeeded' && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        busyPhase = await phaseOf(server.url, 'busy');
      }
      expect(busyPhase?.phase).toBe('Succeeded');
      for (const name of names) expect((await phaseOf(server.url, name))?.phase).toBe(INPUTS[name]!.phase);
    } finally {
      server.process.kill('SIGTERM');
      await exited(server.process);
    }
  }, 180_000);
});

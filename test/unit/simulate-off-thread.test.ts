/** Simulations on a job worker (a real worker thread running the TypeScript sources through tsx). */
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../shared/errors.ts';
import { compileQasm } from '../../shared/qasm/index.ts';
import { DEFAULT_LIMITS } from '../../shared/qasm/limits.ts';
import { simulateOffThread } from '../../shared/simulator/off-thread.ts';
import { simulate } from '../../shared/simulator/run.ts';

const OQ3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n';
const LOOP = `${OQ3}qubit[3] q;\nbit[3] c;\nfor int i in [0:2] { rx(0.3 * (i + 1)) q[i]; }\ncx q[0], q[1];\nc = measure q;\n`;

describe('simulations off the calling thread (real worker thread)', () => {
  it('samples exactly what simulate samples on this thread, for the same seed', async () => {
    const options = { shots: 500, seed: 7, threads: 1 };
    const here = await simulate(compileQasm(LOOP, { limits: DEFAULT_LIMITS }).circuit, options);
    const there = await simulateOffThread(LOOP, DEFAULT_LIMITS, options);
    expect(there.counts).toEqual(here.counts);
    expect(there.shots).toBe(500);
  });

  it('leaves the calling thread free, and stops when the signal aborts', async () => {
    const slow = `${OQ3}qubit[4] q;\nfor int i in [0:229999] { h q; }\n`;
    const controller = new AbortController();
    const order: string[] = [];
    const run = simulateOffThread(slow, DEFAULT_LIMITS, { shots: 10, signal: controller.signal, threads: 1 }).then(
      () => order.push('simulated'),
      (error: unknown) => order.push(`stopped: ${(error as Error).message}`),
    );
    await new Promise((resolve) => setTimeout(resolve, 1)).then(() => order.push('timer'));
    controller.abort(new PermanentError('the stage ran out of time'));
    await run;
    expect(order).toEqual(['timer', 'stopped: the stage ran out of time']);
  });

  it("keeps qpipe's errors permanent: a state too large for the memory limit fails, not retries", async () => {
    const error = await simulateOffThread(`${OQ3}qubit[30] q;\nfor int i in [0:1] { h q[i]; }\n`, DEFAULT_LIMITS, {
      shots: 1,
      maxMemoryBytes: 1024 * 1024,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/memory/i);
  });
});

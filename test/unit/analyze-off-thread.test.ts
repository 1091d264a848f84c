/** Circuit checks on a worker thread (a real worker running the TypeScript sources through tsx). */
import { describe, expect, it } from 'vitest';
import { analyzeOffThread, CircuitCheckError } from '../../shared/qasm/analyze-off-thread.ts';
import { analyzeQasm } from '../../shared/qasm/index.ts';
import { DEFAULT_LIMITS } from '../../shared/qasm/limits.ts';

const OQ3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n';
/** Unrolls to close to a million gates: about a second of work, within every limit. */
const SLOW = `${OQ3}qubit[4] q;\nfor int i in [0:229999] { h q; }\n`;
const options = { limits: DEFAULT_LIMITS };

describe('circuit checks off the calling thread (real worker thread)', () => {
  it('answers what analyzeQasm answers, and refuses what it refuses, with the limit named', async () => {
    const loop = `${OQ3}qubit[2] q;\nbit[2] c;\nfor int i in [0:9] { h q[0]; cx q[0], q[1]; }\nc = measure q;\n`;
    expect(await analyzeOffThread(loop, options)).toEqual(analyzeQasm(loop, options));
    const error = await analyzeOffThread(`${OQ3}qubit[2] q;\nfor int i in [0:9] { h q; }\n`, {
      limits: { ...DEFAULT_LIMITS, maxGates: 5 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitCheckError);
    expect(error).toMatchObject({ where: '4:22', limit: 'maxGates' });
    expect((error as Error).message).toMatch(/^4:22: the circuit unrolls to more than 5 gates/);
  });

  it('leaves the calling thread free: a timer set after the check starts fires before it ends', async () => {
    const order: string[] = [];
    const check = analyzeOffThread(SLOW, options).then(() => order.push('checked'));
    await new Promise((resolve) => setTimeout(resolve, 1)).then(() => order.push('timer'));
    await check;
    expect(order).toEqual(['timer', 'checked']);
  });

  it('refuses a check that passes its deadline, and checks the next circuit on a fresh worker', async () => {
    await expect(analyzeOffThread(SLOW, options, { deadlineMs: 20 })).rejects.toThrow(
      /^circuit: checking it took longer than 20ms/,
    );
    const bell = `${OQ3}qubit[2] q;\nh q[0];\ncx q[0], q[1];\n`;
    expect((await analyzeOffThread(bell, options)).qubits).toBe(2);
  });

  it('stops when its signal aborts (the stage time limit)', async () => {
    const controller = new AbortController();
    const check = analyzeOffThread(SLOW, options, { signal: controller.signal });
    controller.abort(new Error('the stage ran out of time'));
    await expect(check).rejects.toThrow('the stage ran out of time');
  });
});

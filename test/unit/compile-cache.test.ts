import { describe, expect, it } from 'vitest';
import { compileQasmCached } from '../../shared/qasm/compile-cache.ts';
import { BELL_QASM } from '../support/manifests.ts';

describe('circuits compiled once per process', () => {
  it('returns the same compiled circuit for the same source and limits, a new one otherwise', () => {
    const first = compileQasmCached(BELL_QASM, { limits: { maxGates: 100 } });
    expect(compileQasmCached(BELL_QASM, { limits: { maxGates: 100 } })).toBe(first);
    expect(compileQasmCached(BELL_QASM, { limits: { maxGates: 101 } })).not.toBe(first);
    expect(compileQasmCached(`${BELL_QASM}x q[0];\n`, { limits: { maxGates: 100 } })).not.toBe(first);
  });

  it('keeps a bounded number of gates: a large circuit is not kept, and the oldest small ones make room', () => {
    const big = `OPENQASM 3;\nqubit q;\nfor int i in [1:250000] { x q; }\n`;
    expect(compileQasmCached(big)).not.toBe(compileQasmCached(big));
    const loop = (n: number) => `OPENQASM 3;\nqubit q;\nfor int i in [1:${n}] { x q; }\n`;
    const early = compileQasmCached(loop(60_000));
    for (const n of [60_001, 60_002, 60_003]) compileQasmCached(loop(n));
    expect(compileQasmCached(loop(60_000))).not.toBe(early);
  });
});

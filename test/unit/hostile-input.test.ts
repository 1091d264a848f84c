/**
 * Hostile input, round two: each shape that once crashed, stalled or answered wrongly, as a
 * regression test of the front end (parser, elaborator, cost model) and of resource
 * validation. The simulator runs for real where an answer is checked.
 */
import { describe, expect, it } from 'vitest';
import { compileQasm, QasmLimitError } from '../../shared/qasm/index.ts';
import { DEFAULT_LIMITS } from '../../shared/qasm/limits.ts';
import { parseResource, SchemaError } from '../../shared/resources/validate.ts';
import { exactProbabilities } from '../../shared/simulator/run.ts';

const OQ3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n';

function limitError(source: string, limits = DEFAULT_LIMITS): QasmLimitError {
  try {
    compileQasm(source, { limits });
  } catch (error) {
    if (error instanceof QasmLimitError) return error;
    throw error;
  }
  throw new Error('the circuit was accepted');
}

const probabilities = async (source: string) =>
  exactProbabilities(compileQasm(source, { limits: DEFAULT_LIMITS }).circuit, { threads: 1 });

describe('hostile input: costs counted before they are paid', () => {
  it('raises a gate body to any power by squaring its unitary, never by k copies', async () => {
    const body = `${OQ3}gate g a, b { h a; cx a, b; rz(0.3) b; }\nqubit[2] q;\nbit[2] c;\n`;
    const huge = compileQasm(`${body}pow(2**30) @ g q[0], q[1];\nc = measure q;`, { limits: DEFAULT_LIMITS });
    expect(huge.circuit.primitiveCount).toBe(1);
    // pow(3) multiplied out agrees with the body written out three times.
    const cubed = await probabilities(`${body}pow(3) @ g q[0], q[1];\nc = measure q;`);
    const written = await probabilities(`${body}g q[0], q[1];\ng q[0], q[1];\ng q[0], q[1];\nc = measure q;`);
    for (const key of new Set([...Object.keys(cubed), ...Object.keys(written)])) {
      expect(cubed[key] ?? 0).toBeCloseTo(written[key] ?? 0, 12);
    }
    // A negative power is the inverse: pow(-1) after g is the identity.
    expect(await probabilities(`${body}g q[0], q[1];\npow(-1) @ g q[0], q[1];\nc = measure q;`)).toEqual({ '00': 1 });
  });

  it('counts the copies a body too wide to multiply out would make, and refuses before making them', () => {
    const wide = `${OQ3}gate w a, b, c, d, e, f { h a; h b; h c; h d; h e; h f; }\nqubit[6] q;\n`;
    const error = limitError(`${wide}pow(2**30) @ w q[0], q[1], q[2], q[3], q[4], q[5];`);
    expect(error.limit).toBe('maxGates');
    expect(error.message).toMatch(/^5:1: pow\(1073741824\) repeats a 6-gate body on 6 qubits 1073741824 times/);
  });

  it('counts measurements, resets and barriers in loops, per qubit', () => {
    const measured = limitError(`${OQ3}qubit[64] q;\nbit[64] c;\nfor int i in [0:999999] { c = measure q; }`);
    expect(measured.limit).toBe('maxOperations');
    expect(measured.message).toMatch(/^5:\d+: the circuit unrolls to more than 1000000 measurements/);
    expect(limitError(`${OQ3}qubit[1000] q;\nfor int i in [0:999999] { barrier; }`).limit).toBe('maxOperations');
    expect(limitError(`${OQ3}qubit[1000] q;\nfor int i in [0:999999] { reset q; }`).limit).toBe('maxOperations');
    // Below the limit, they are counted and allowed.
    expect(() =>
      compileQasm(`${OQ3}qubit[2] q;\nbit[2] c;\nfor int i in [0:99] { c = measure q; reset q; }`, {
        limits: DEFAULT_LIMITS,
      }),
    ).not.toThrow();
  });

  it('counts each operator of a long chain as a level of nesting, at the operator that crosses it', () => {
    const error = limitError(`${OQ3}qubit q;\nrx(${Array(10_000).fill('1').join(' + ')}) q;`);
    expect(error.limit).toBe('maxNesting');
    expect(error.message).toMatch(/^4:\d+: an expression nests deeper than 64 levels/);
    expect(() => compileQasm(`${OQ3}qubit q;\nrx(${Array(30).fill('0.1').join(' + ')}) q;`)).not.toThrow();
  });

  it('refuses a chain of definitions by the copies each level makes, not after making them', () => {
    let source = `${OQ3}gate g0 a { x a; }\n`;
    for (let level = 1; level <= 40; level++) {
      source += `gate g${level} a { for int i in [0:1] { inv @ g${level - 1} a; } }\n`;
    }
    const error = limitError(`${source}qubit q;\ng40 q;`);
    expect(error.limit).toBe('maxGates');
    expect(error.message).toMatch(/takes the work of more than 1000000 gates/);
  });
});

describe('hostile input: exact semantics', () => {
  it('raises to integer powers of 2^31 and above exactly, not modulo 2^32', async () => {
    const k = 4_294_967_298;
    const measured = await probabilities(`${OQ3}qubit q;\nbit c;\npow(${k}) @ rx(1) q;\nc = measure q;`);
    // rx(1)^k = rx(k): P(1) = sin²(k/2); pow(2) would give sin²(1).
    expect(measured['1'] ?? 0).toBeCloseTo(Math.sin(k / 2) ** 2, 6);
    expect(Math.abs(Math.sin(k / 2) ** 2 - Math.sin(1) ** 2)).toBeGreaterThan(0.1);
  });

  it('compares registers wider than 53 bits with integer literals exactly', async () => {
    // c holds 2^59; a double cannot tell 2^59 + 1 from it.
    const flagged = async (literal: string) => {
      const counts = await probabilities(
        `${OQ3}qubit[2] q;\nbit[60] c;\nbit[1] f;\nx q[0];\nc[59] = measure q[0];\nif (c == ${literal}) { x q[1]; }\nf[0] = measure q[1];\n`,
      );
      return Object.keys(counts).map((key) => key[0]);
    };
    expect(await flagged('576460752303423488')).toEqual(['1']);
    expect(await flagged('0x800000000000000')).toEqual(['1']);
    expect(await flagged('576460752303423489')).toEqual(['0']);
  });

  it('takes identifiers as the OpenQASM 3 grammar defines them, and names a character it refuses whole', () => {
    for (const name of ['θ', '𝜃', 'Ⅻ', 'ǅx', 'ʰa', '日本', '_𝒜1']) {
      expect(compileQasm(`${OQ3}qubit[1] ${name};\nh ${name}[0];\n`).metadata.qubits, name).toBe(1);
    }
    expect(() => compileQasm(`${OQ3}qubit q;\n😀 q;\n`)).toThrow(/^4:1: unexpected character "😀" \(U\+1F600\)/);
  });

  it('refuses durations longer than a date can hold, at validation, naming the field', () => {
    const budget = (gracePeriod: string) => ({
      apiVersion: 'quantum.io/v1',
      kind: 'QiskitBudget',
      metadata: { name: 'far' },
      spec: { limit: '$10.00', period: 'monthly', enforcement: { blockOnExceed: true, gracePeriod } },
    });
    expect(() => parseResource(budget('3650d'))).not.toThrow();
    for (const far of ['3651d', '99999999999999999999d']) {
      const error = (() => {
        try {
          parseResource(budget(far));
        } catch (caught) {
          return caught as SchemaError;
        }
        throw new Error('accepted');
      })();
      expect(error).toBeInstanceOf(SchemaError);
      expect(error.message).toMatch(
        /spec\.enforcement\.gracePeriod: .* longer than the longest duration qpipe takes \(3650d\)/,
      );
    }
  });
});

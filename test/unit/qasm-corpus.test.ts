/**
 * The peer test: real circuits nobody here wrote, read from ../shared/corpus (QASMBench,
 * and the OpenQASM 3 specification's examples and grammar tests).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileQasm, QasmSyntaxError, QasmUnsupportedError } from '../../shared/qasm/index.ts';
import { CORPUS, corpusFiles as files, corpusPresent as present } from '../support/corpus.ts';
import { expectPathsAgree } from '../support/qasm-paths.ts';

// QASMBench files that are broken as published: they measure into registers q and c they never declare.
const BROKEN_IN_QASMBENCH: Record<string, RegExp> = {
  'hhl_n10.qasm': /unknown qubit register "q"/,
  'hhl_n10_transpiled.qasm': /unknown qubit register "q"/,
  'vqe_uccsd_n4.qasm': /unknown qubit register "q"/,
  'vqe_uccsd_n4_transpiled.qasm': /unknown qubit register "q"/,
  'vqe_uccsd_n6.qasm': /unknown qubit register "q"/,
  'vqe_uccsd_n6_transpiled.qasm': /unknown qubit register "q"/,
  'vqe_uccsd_n8.qasm': /unknown qubit register "q"/,
  'vqe_uccsd_n8_transpiled.qasm': /unknown qubit register "q"/,
};

// OpenQASM 3 examples, each either parsed or rejected naming the feature qpipe does not run.
const OQ3_EXAMPLES: Record<string, string | RegExp | null> = {
  'adder.qasm': null,
  'alignment.qasm': 'stretch',
  'arrays.qasm': 'array',
  // The example applies its gate to a register it never declares.
  'cphase.qasm': /unknown qubit register "q"/,
  'dd.qasm': 'stretch',
  'defcal.qasm': 'defcalgrammar',
  'gateteleport.qasm': 'extern',
  'inverseqft1.qasm': null,
  'inverseqft2.qasm': null,
  'ipe.qasm': 'measurement into a non-bit variable',
  'msd.qasm': 'def',
  'qec.qasm': 'def',
  'qft.qasm': null,
  'qpt.qasm': null,
  'rb.qasm': null,
  'rus.qasm': 'def',
  'scqec.qasm': 'extern',
  't1.qasm': 'duration',
  'teleport.qasm': null,
  'varteleport.qasm': 'def',
  'vqe.qasm': 'extern',
};

const qasmbench = [...files('qasmbench/small', '.qasm'), ...files('qasmbench/medium', '.qasm')];
const limits = { maxBytes: 16 * 1024 * 1024, maxGates: 10_000_000 };

describe.skipIf(!present)('QASMBench small and medium', () => {
  it('has the circuits to test', () => {
    expect(qasmbench.length).toBeGreaterThan(100);
  });

  it.each(qasmbench.map((path) => [path.slice(CORPUS.length), path]))('parses %s', (_name, path) => {
    const name = path.split('/').pop() as string;
    const source = readFileSync(path, 'utf8');
    const expected = BROKEN_IN_QASMBENCH[name];
    expectPathsAgree(source, { limits });
    if (expected) {
      expect(() => compileQasm(source, { limits })).toThrow(expected);
      return;
    }
    const { metadata } = compileQasm(source, { limits });
    expect(metadata.format).toBe('qasm2');
    expect(metadata.qubits).toBe(Number(/_n(\d+)/.exec(path)?.[1] ?? metadata.qubits));
  });
});

describe.skipIf(!present)('OpenQASM 3 specification examples', () => {
  const examples = files('openqasm3/examples', '.qasm');
  it('covers every example in the corpus', () => {
    expect(examples.map((p) => p.split('/').pop()).sort()).toEqual(Object.keys(OQ3_EXAMPLES).sort());
  });

  it.each(examples.map((path) => [path.split('/').pop() as string, path]))(
    '%s parses or names what it lacks',
    (name, path) => {
      const expected = OQ3_EXAMPLES[name];
      const source = readFileSync(path, 'utf8');
      expectPathsAgree(source);
      if (expected === null) {
        expect(compileQasm(source).metadata.format).toBe('qasm3');
      } else if (typeof expected === 'string') {
        let error: unknown;
        try {
          compileQasm(source);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(QasmUnsupportedError);
        expect((error as QasmUnsupportedError).feature).toBe(expected);
      } else {
        expect(() => compileQasm(source)).toThrow(expected);
      }
    },
  );
});

describe.skipIf(!present)('OpenQASM 3 grammar tests', () => {
  const invalid = files('openqasm3/source/grammar/tests/invalid', '.qasm');
  it('has the invalid statements to test', () => {
    expect(invalid.length).toBeGreaterThan(5);
  });

  it.each(invalid.map((path) => [path.split('/').pop() as string, path]))(
    'rejects %s with a line:column error',
    (_name, path) => {
      expect(() => compileQasm(readFileSync(path, 'utf8'))).toThrow(/^\d+:\d+: /);
      expectPathsAgree(readFileSync(path, 'utf8'));
    },
  );

  it.each(invalid.map((path) => [path.split('/').pop() as string, path]))(
    'rejects each statement of %s on its own',
    (_name, path) => {
      const prelude = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[4] q;\nbit[4] b;\nint[8] i;\n';
      const statements = readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.trim().startsWith('//'));
      for (const statement of statements) {
        let error: unknown;
        try {
          compileQasm(prelude + statement);
        } catch (e) {
          error = e;
        }
        expect(error, `accepted: ${statement}`).toBeInstanceOf(QasmSyntaxError);
        expectPathsAgree(prelude + statement);
        expect((error as QasmSyntaxError).line, statement).toBe(6);
      }
    },
  );
});

import { describe, expect, it } from 'vitest';
import { compileQasm, QasmLimitError, QasmSyntaxError, QasmUnsupportedError } from '../../shared/qasm/index.ts';
import { PythonCircuitError } from '../../shared/qasm/index.ts';
import { expectPathsAgree } from '../support/qasm-paths.ts';

const OQ2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n';
const OQ3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n';

function errorOf(source: string, options = {}): Error {
  try {
    compileQasm(source, options);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the circuit was accepted');
}

describe('OpenQASM front end: analysis', () => {
  it('reports qubits, clbits, depth, gate counts and flags of a Bell circuit', () => {
    const { metadata } = compileQasm(
      `${OQ2}qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nbarrier q;\nmeasure q -> c;\n`,
    );
    expect(metadata).toMatchObject({
      format: 'qasm2',
      qubits: 2,
      clbits: 2,
      depth: 3,
      gateCount: 2,
      gateCounts: { h: 1, cx: 1, barrier: 1, measure: 2 },
      twoQubitGates: 1,
      measurements: 2,
      midCircuitMeasurement: false,
      classicalControl: false,
    });
    expect(metadata.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('hashes the canonical circuit: comments and spacing do not change it, a gate does', () => {
    const a = compileQasm(`${OQ2}qreg q[1];\nh q[0];`).metadata.hash;
    const b = compileQasm(`${OQ2}// a comment\nqreg   q[1];\n\nh   q[0] ;`).metadata.hash;
    const c = compileQasm(`${OQ2}qreg q[1];\nx q[0];`).metadata.hash;
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('flags mid-circuit measurement and classical control', () => {
    const { metadata } = compileQasm(
      `${OQ2}qreg q[2];\ncreg c[2];\nmeasure q[0] -> c[0];\nif (c == 1) x q[1];\nh q[0];\n`,
    );
    expect(metadata.midCircuitMeasurement).toBe(true);
    expect(metadata.classicalControl).toBe(true);
  });

  it('counts depth as Qiskit does, including the classical wires of conditions', () => {
    // measure (1), if-x reading c (2), h on q0 parallel to both layers after measure (2).
    const { metadata } = compileQasm(`${OQ2}qreg q[2];\ncreg c[1];\nmeasure q[0] -> c[0];\nif (c == 1) x q[1];\n`);
    expect(metadata.depth).toBe(2);
  });
});

describe('OpenQASM front end: language', () => {
  it('broadcasts gates over registers of equal size', () => {
    const { circuit } = compileQasm(`${OQ2}qreg a[3];\nqreg b[3];\ncx a, b;\n`);
    expect(circuit.operations.map((op) => (op.kind === 'gate' ? op.qubits : []))).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
  });

  it('expands gate definitions with parameters and keeps the call as one operation', () => {
    const { circuit, metadata } = compileQasm(
      `${OQ2}gate twist(t) a, b { rz(t/2) b; cx a, b; rz(-t/2) b; }\nqreg q[2];\ntwist(pi) q[0], q[1];\n`,
    );
    expect(metadata.gateCounts).toEqual({ twist: 1 });
    const op = circuit.operations[0];
    expect(op?.kind === 'gate' && op.parts.map((p) => p.name)).toEqual(['rz', 'cx', 'rz']);
  });

  it('unrolls for loops over inclusive ranges, negative steps and sets', () => {
    const { circuit } = compileQasm(
      `${OQ3}qubit[4] q;\nfor int i in [0:3] { h q[i]; }\nfor int i in [3:-2:0] { x q[i]; }\nfor int i in {1, 2} { z q[i]; }\n`,
    );
    const names = circuit.operations.map((op) => (op.kind === 'gate' ? `${op.name}${op.qubits[0]}` : ''));
    expect(names).toEqual(['h0', 'h1', 'h2', 'h3', 'x3', 'x1', 'z1', 'z2']);
  });

  it('applies modifiers: ctrl, negctrl, inv and pow', () => {
    const { circuit } = compileQasm(
      `${OQ3}qubit[3] q;\nctrl @ x q[0], q[1];\nnegctrl @ x q[0], q[1];\ninv @ s q[2];\npow(2) @ t q[2];\nctrl(2) @ x q[0], q[1], q[2];\n`,
    );
    const parts = circuit.operations.flatMap((op) => (op.kind === 'gate' ? op.parts : []));
    expect(parts[0]).toMatchObject({ controls: [0], targets: [1] });
    // negctrl is X, controlled gate, X on the control.
    expect(parts.slice(1, 4).map((p) => p.name)).toEqual(['x', 'x', 'x']);
    expect(parts.at(-1)).toMatchObject({ controls: [0, 1], targets: [2] });
  });

  it('evaluates const and input parameters with pi, sin and cos', () => {
    const { circuit } = compileQasm(
      `${OQ3}input float theta;\nconst float half = theta / 2;\nqubit q;\nrx(sin(half) + cos(0) * π) q;\n`,
      { inputs: { theta: Math.PI } },
    );
    const op = circuit.operations[0];
    expect(op?.kind === 'gate' && op.params[0]).toBeCloseTo(1 + Math.PI, 12);
  });

  it('keeps #pragma lines', () => {
    const { circuit } = compileQasm(`${OQ3}#pragma braket verbatim\nqubit q;\nh q;\n`);
    expect(circuit.pragmas).toEqual(['braket verbatim']);
  });

  it('accepts both measurement forms and physical qubits', () => {
    const { circuit } = compileQasm('OPENQASM 3;\nbit[2] b;\nh $0;\nb[0] = measure $0;\nmeasure $1 -> b[1];\n');
    expect(circuit.numQubits).toBe(2);
    expect(circuit.operations.filter((op) => op.kind === 'measure')).toHaveLength(2);
  });
});

describe('OpenQASM front end: errors', () => {
  it('gives line:column, a caret line and what was expected', () => {
    const error = errorOf(`${OQ2}qreg q[2];\ncx q[0] q[1];\n`);
    expect(error).toBeInstanceOf(QasmSyntaxError);
    expect(error.message).toMatch(/^4:9: expected ";" but found "q"/);
    expect(error.message).toContain('\n  cx q[0] q[1];\n          ^');
  });

  it.each([
    ['an unknown gate', `${OQ2}qreg q[1];\nfoo q[0];\n`, /4:1: unknown gate "foo"/],
    [
      'an index out of range',
      `${OQ2}qreg q[2];\nh q[2];\n`,
      /4:5: index 2 is out of range for qubit register "q" of size 2/,
    ],
    ['a wrong parameter count', `${OQ2}qreg q[1];\nrz q[0];\n`, /takes 1 parameters but was given 0/],
    ['the same qubit twice', `${OQ2}qreg q[2];\ncx q[0], q[0];\n`, /same qubit twice/],
    ['an undeclared register', `${OQ2}measure r[0] -> c[0];\n`, /unknown qubit register "r"/],
    ['an unterminated comment', `${OQ2}/* never closed\nqreg q[1];`, /3:1: unterminated comment/],
    ['registers of different sizes', `${OQ2}qreg a[2];\nqreg b[3];\ncx a, b;\n`, /different sizes/],
  ])('rejects %s', (_case, source, message) => {
    expect(errorOf(source).message).toMatch(message);
  });

  it.each([
    ['defcal', 'defcal x $0 { }'],
    ['delay', 'qubit q;\ndelay[100ns] q;'],
    ['extern', 'extern f(int) -> bit;'],
    ['while', 'while (true) { }'],
    ['def', 'def f() { }'],
    ['box', 'box { }'],
  ])('rejects the pulse-level or run-time feature %s by name', (feature, body) => {
    const error = errorOf(`${OQ3}${body}\n`);
    expect(error).toBeInstanceOf(QasmUnsupportedError);
    expect((error as QasmUnsupportedError).feature).toBe(feature);
    expect(error.message).toMatch(new RegExp(`^\\d+:\\d+: unsupported OpenQASM feature "${feature}"`));
  });

  it('rejects Python with a message that says how to export OpenQASM', () => {
    const error = errorOf('from qiskit import QuantumCircuit\nqc = QuantumCircuit(2)\nqc.h(0)\n');
    expect(error).toBeInstanceOf(PythonCircuitError);
    expect(error.message).toContain('qasm3.dumps(qc)');
  });

  it('rejects a format that contradicts the version line', () => {
    expect(errorOf(`${OQ2}qreg q[1];`, { format: 'qasm3' }).message).toMatch(
      /says qasm3 but the program declares OPENQASM 2.0/,
    );
  });
});

describe('OpenQASM front end: limits', () => {
  it.each([
    ['circuit bytes', `${OQ2}qreg q[1];`, { maxBytes: 10 }, 'maxBytes', /bytes; the limit is 10/],
    ['qubits', `${OQ2}qreg q[5];`, { maxQubits: 4 }, 'maxQubits', /declares 5 qubits; the limit is 4/],
    [
      'gates after unrolling',
      `${OQ3}qubit q;\nfor int i in [1:100] { h q; }`,
      { maxGates: 50 },
      'maxGates',
      /more than 50 gates/,
    ],
    [
      'classical bits',
      `${OQ2}qreg q[1];\ncreg c[2147483647];`,
      {},
      'maxClbits',
      /declares 2147483647 classical bits; the limit is 4096/,
    ],
    [
      'loop iterations',
      `${OQ3}qubit q;\nfor int i in [1:100] { }`,
      { maxLoopIterations: 10 },
      'maxLoopIterations',
      /more than 10 iterations/,
    ],
    [
      'nesting depth',
      `${OQ2}qreg q[1];\nrz(${'('.repeat(100)}1${')'.repeat(100)}) q[0];`,
      { maxNesting: 20 },
      'maxNesting',
      /nesting deeper than 20/,
    ],
  ])('enforces the %s limit with a clear error', (_limit, source, limits, name, message) => {
    const error = errorOf(source, { limits });
    expect(error).toBeInstanceOf(QasmLimitError);
    expect((error as QasmLimitError).limit).toBe(name);
    expect(error.message).toMatch(message);
  });

  /** `levels` definitions, each applying the one before twice: 2^levels gates from a few hundred bytes. */
  const doublingNest = (levels: number) =>
    `${OQ2}qreg q[2];\ngate g0 a { x a; }\n` +
    Array.from({ length: levels }, (_, i) => `gate g${i + 1} a { g${i} a; g${i} a; }\n`).join('') +
    `g${levels} q[0];\n`;

  it('refuses a 60-level doubling gate nest (2^60 gates) at its call, before unrolling any of it', () => {
    const started = performance.now();
    const error = errorOf(doublingNest(60));
    expect(error).toBeInstanceOf(QasmLimitError);
    expect(error.message).toMatch(
      /gate g60 unrolls to about 1\.2e\+18 gates; the circuit may unroll to at most 1000000/,
    );
    expect(error.message).toMatch(/^65:1:/);
    // Counting first is what makes this fast: unrolling to the limit took 15 s and 2 GB.
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('bounds gates whose size depends on a parameter while unrolling them', () => {
    const source = `${OQ3}qubit q;\ngate p(k) a { for int i in [1:k] { x a; } }\ngate r a { p(1000) a; p(1000) a; }\nr q;\n`;
    expect((errorOf(source, { limits: { maxGates: 1500 } }) as QasmLimitError).limit).toBe('maxGates');
    expect(compileQasm(source, { limits: { maxGates: 2000 } }).circuit.primitiveCount).toBe(2000);
  });

  it('unrolls a 16-level nest (65,536 gates) and a 100,000-iteration loop on one qubit', () => {
    expect(compileQasm(doublingNest(16)).circuit.primitiveCount).toBe(65_536);
    const loop = compileQasm(`${OQ3}qubit[1] q;\nfor int i in [0:99999] { x q[0]; }\n`);
    expect(loop.circuit.primitiveCount).toBe(100_000);
  });

  it('counts gates inside definitions against the gate limit', () => {
    const defs = `gate a q { h q; h q; }\ngate b q { a q; a q; a q; }\ngate c q { b q; b q; b q; }\n`;
    expect(errorOf(`${OQ2}${defs}qreg r[1];\nc r[0];\nc r[0];\n`, { limits: { maxGates: 30 } })).toBeInstanceOf(
      QasmLimitError,
    );
  });
});

describe('OpenQASM front end: the fast path for simple gate statements', () => {
  const manyGates = Array.from({ length: 700 }, (_, i) => `cx q[${i % 3}], q[${(i + 1) % 3}];`).join('\n');
  it.each([
    [
      'parameters: literals, signs, exponents, pi products',
      `${OQ2}qreg q[2];\nu3(-pi/2, 2*pi/3, 1.5e-3) q[0];\nrz(.5) q[1];\nu1(-0.) q[0];\n`,
    ],
    ['spacing, tabs, CRLF line ends and no final newline', `${OQ2}qreg q[2];\r\n\tcx\tq[0] ,q[ 1 ] ;\r\nh q[1];`],
    ['comments between and inside statements', `${OQ2}qreg q[2];\nh q[0]; // note\ncx q[0], /* c */ q[1];\n`],
    ['pi shadowed by a constant', `${OQ3}const float pi = 1.0;\nqubit[1] q;\nrz(pi/2) q[0];\n`],
    ['a gate defined in the program', `${OQ2}qreg q[2];\ngate g(t) a, b { rz(t) a; cx a, b; }\ng(0.5) q[0], q[1];\n`],
    ['a standard gate name redefined', `${OQ3}gate h a { x a; }\nqubit[1] q;\nh q[0];\n`],
    ['expressions beyond products', `${OQ2}qreg q[1];\nrz(pi/2 + 0.1) q[0];\nrz(2^3) q[0];\nrz(sin(pi)) q[0];\n`],
    ['whole registers, physical qubits and modifiers', `${OQ3}qubit[2] q;\nh q;\nctrl @ x q[0], q[1];\n`],
    ['annotations and pragmas around simple statements', `${OQ3}qubit[1] q;\n#pragma braket verbatim\n@tag\nh q[0];\n`],
    ['an error after a long run of statements', `${OQ2}qreg q[3];\n${manyGates}\ncx q[0], q[3];\n`],
    ['division by zero', `${OQ2}qreg q[1];\nrz(pi/0) q[0];\n`],
    ['an index with a leading zero or separator', `${OQ3}qubit[20] q;\nh q[01];\nh q[1_0];\n`],
    ['an index out of range', `${OQ2}qreg q[2];\nh q[2];\n`],
    ['the same qubit twice', `${OQ2}qreg q[2];\ncx q[1], q[1];\n`],
    ['a wrong parameter or qubit count', `${OQ2}qreg q[2];\nrz(1, 2) q[0];\ncx q[0];\n`],
    ['an unknown gate or register', `${OQ2}qreg q[2];\nfoo q[0];\nh r[0];\n`],
    ['a bit register used as qubits', `${OQ2}qreg q[1];\ncreg c[1];\nh c[0];\n`],
    ['a missing semicolon', `${OQ2}qreg q[2];\nh q[0]\nh q[1];\n`],
    ['a statement broken over lines', `${OQ2}qreg q[2];\ncx q[0],\n  q[1];\n`],
    ['a number running into letters', `${OQ2}qreg q[1];\nrz(1.5x) q[0];\n`],
    ['a keyword as a register name', `${OQ3}qubit[1] q;\nh measure[0];\n`],
    ['Unicode names', `${OQ3}qubit[1] θ;\nrz(π) θ[0];\n`],
  ])('agrees with the general parser on %s', (_case, source) => {
    expectPathsAgree(source);
  });

  it('reports line and column of an error deep in a run of fast statements', () => {
    const error = errorOf(`${OQ2}qreg q[3];\n${manyGates}\ncx q[0], q[3];\n`);
    expect(error.message).toMatch(/^704:12: index 3 is out of range for qubit register "q" of size 3/);
  });
});

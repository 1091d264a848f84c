/** Gates an OpenQASM 3 program uses beyond what the specification and Qiskit accept undeclared. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseQasm } from '../../../shared/qasm/parser.ts';
import { gatesNeedingStdgates, undeclaredNonStandardGates } from '../../../shared/qasm/standard-gates.ts';

const OQ3 = 'OPENQASM 3;\ninclude "stdgates.inc";\nqubit[3] q;\n';

describe('portability of OpenQASM 3 gates', () => {
  it('names gates neither in stdgates.inc nor declared, at any depth, once each', () => {
    const program = parseQasm(
      `${OQ3}gate mine a { rxx(0.1) a, a; }\nrzz(0.2) q[0], q[1];\nif (true) { iswap q[0], q[1]; }\nfor int i in [0:1] { rzz(0.3) q[i], q[2]; }\nmine q[0];\nh q[0];\n`,
    );
    expect(undeclaredNonStandardGates(program)).toEqual(['rxx', 'rzz', 'iswap']);
  });

  it('accepts declared gates, every stdgates.inc gate and OpenQASM 2', () => {
    expect(
      undeclaredNonStandardGates(
        parseQasm(
          `${OQ3}gate rzz(t) a, b { cx a, b; rz(t) b; cx a, b; }\nrzz(0.2) q[0], q[1];\ncu(1, 2, 3, 4) q[0], q[1];\n`,
        ),
      ),
    ).toEqual([]);
    expect(
      undeclaredNonStandardGates(parseQasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nrzz(0.1) q[0], q[1];\n')),
    ).toEqual([]);
  });

  it('names standard gates used without include "stdgates.inc", not U or gphase', () => {
    expect(
      gatesNeedingStdgates(parseQasm('OPENQASM 3;\nqubit[2] q;\nh q[0];\ncx q[0], q[1];\nU(1, 2, 3) q[0];\n')),
    ).toEqual(['h', 'cx']);
    expect(gatesNeedingStdgates(parseQasm(`${OQ3}h q[0];\n`))).toEqual([]);
  });

  it('finds nothing to warn about in the example circuits', () => {
    const folder = new URL('../../../examples/circuits/', import.meta.url);
    for (const file of readdirSync(folder).filter((f) => f.endsWith('.qasm'))) {
      const program = parseQasm(readFileSync(new URL(file, folder), 'utf8'));
      expect([...undeclaredNonStandardGates(program), ...gatesNeedingStdgates(program)], file).toEqual([]);
    }
  });
});

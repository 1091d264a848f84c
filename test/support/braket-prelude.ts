/**
 * Braket's OpenQASM 3 builtin gates defined in terms of OpenQASM's standard library, so
 * qpipe's own parser and simulator can run the programs sent to Braket (conventions from
 * Braket's gate documentation: phaseshift = diag(1, e^{iλ}), xx(θ) = exp(-iθ/2·X⊗X), ...).
 */
export const BRAKET_PRELUDE = `
gate cnot a, b { cx a, b; }
gate ccnot a, b, c { ccx a, b, c; }
gate si a { sdg a; }
gate ti a { tdg a; }
gate v a { sx a; }
gate vi a { sxdg a; }
gate i a { id a; }
gate phaseshift(l) a { p(l) a; }
gate cphaseshift(l) a, b { cp(l) a, b; }
gate xx(t) a, b { rxx(t) a, b; }
gate yy(t) a, b { ryy(t) a, b; }
gate zz(t) a, b { rzz(t) a, b; }
`;

/** A Braket program as qpipe's parser takes it: the prelude after the version line. */
export function runnableBraketSource(source: string): string {
  return source.replace('OPENQASM 3.0;', `OPENQASM 3.0;\ninclude "stdgates.inc";\n${BRAKET_PRELUDE}`);
}

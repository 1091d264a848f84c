/**
 * Which gates an OpenQASM 3 program uses beyond the standard library without declaring them.
 * qpipe accepts them (it knows Qiskit's and Braket's names, e.g. `rzz`, `iswap`), as Braket
 * does; the OpenQASM 3 specification and Qiskit's importer refuse them. `qpipe validate` warns,
 * so a file meant for Qiskit can be fixed before it travels.
 */
import type { Program, Statement } from './ast.ts';

/** stdgates.inc as the specification gives it, and the two built-in gates. */
const STANDARD = new Set([
  ...['p', 'x', 'y', 'z', 'h', 's', 'sdg', 't', 'tdg', 'sx', 'rx', 'ry', 'rz'],
  ...['cx', 'cy', 'cz', 'cp', 'crx', 'cry', 'crz', 'ch', 'swap', 'ccx', 'cswap', 'cu'],
  ...['CX', 'phase', 'cphase', 'id', 'u1', 'u2', 'u3'],
  ...['U', 'gphase'],
]);

/** The gates a program calls that are neither standard nor declared in it, in order of first use (OpenQASM 3 only). */
export function undeclaredNonStandardGates(program: Program): string[] {
  if (program.version !== 3) return [];
  const declared = new Set<string>();
  const used: string[] = [];
  const visit = (statements: readonly (Statement | { kind: 'simpleGate'; name: string })[]) => {
    for (const statement of statements) {
      switch (statement.kind) {
        case 'gateCall':
        case 'simpleGate':
          if (!used.includes(statement.name)) used.push(statement.name);
          break;
        case 'gateDef':
          declared.add(statement.name);
          visit(statement.body ?? []);
          break;
        case 'if':
          visit(statement.then);
          visit(statement.otherwise ?? []);
          break;
        case 'for':
          visit(statement.body);
          break;
        default:
          break;
      }
    }
  };
  visit(program.statements);
  return used.filter((name) => !STANDARD.has(name) && !declared.has(name));
}

/** Standard gates a program calls without including stdgates.inc (only U and gphase are built in). */
export function gatesNeedingStdgates(program: Program): string[] {
  if (program.version !== 3) return [];
  const included = program.statements.some((s) => s.kind === 'include' && s.path === 'stdgates.inc');
  if (included) return [];
  const names = new Set<string>();
  const visit = (statements: readonly (Statement | { kind: 'simpleGate'; name: string })[]) => {
    for (const statement of statements) {
      if (statement.kind === 'gateCall' || statement.kind === 'simpleGate') names.add(statement.name);
      else if (statement.kind === 'gateDef') visit(statement.body ?? []);
      else if (statement.kind === 'if') visit([...statement.then, ...(statement.otherwise ?? [])]);
      else if (statement.kind === 'for') visit(statement.body);
    }
  };
  visit(program.statements);
  return [...names].filter((name) => STANDARD.has(name) && name !== 'U' && name !== 'gphase');
}

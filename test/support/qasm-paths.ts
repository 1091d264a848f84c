/** Compares the front end's fast path (simple-gate.ts) with its general parser on one source. */
import { expect } from 'vitest';
import { analyzeQasm, type CompileOptions, compileQasm, type Operation } from '../../shared/qasm/index.ts';

function project(op: Operation): unknown {
  switch (op.kind) {
    case 'gate':
      return { gate: op.name, qubits: [...op.qubits], params: [...op.params] };
    case 'if':
      return { if: op.condition, then: op.then.map(project), otherwise: op.otherwise.map(project) };
    default:
      return op;
  }
}

function outcome(source: string, options: CompileOptions): unknown {
  try {
    const { circuit, metadata } = compileQasm(source, options);
    return { metadata, operations: circuit.operations.map(project), header: { ...circuit, operations: undefined } };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/**
 * Asserts both paths give the same circuit and metadata, or the same error message, and
 * that the streaming analysis (analyzeQasm) agrees with the compiled circuit's metadata.
 */
export function expectPathsAgree(source: string, options: CompileOptions = {}): void {
  const fast = outcome(source, options);
  expect(fast).toEqual(outcome(source, { ...options, generalParserOnly: true }));
  let analyzed: unknown;
  try {
    analyzed = { metadata: analyzeQasm(source, options) };
  } catch (error) {
    analyzed = { error: (error as Error).message };
  }
  const expected = fast as { metadata?: unknown; error?: string };
  expect(analyzed).toEqual(expected.error === undefined ? { metadata: expected.metadata } : { error: expected.error });
}

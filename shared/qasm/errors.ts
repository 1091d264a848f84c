/** Errors of the OpenQASM front end; each carries line:column and a caret line. */
import { InvalidInputError, LimitExceededError } from '../errors.ts';

/** A position in the source: 1-based line and column. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

function caret(source: string, at: SourcePosition): string {
  const text = source.split('\n')[at.line - 1] ?? '';
  return `\n  ${text.replace(/\t/g, ' ')}\n  ${' '.repeat(Math.max(0, at.column - 1))}^`;
}

function located(source: string, at: SourcePosition, message: string): string {
  return `${message}${caret(source, at)}`;
}

/** A malformed OpenQASM program: the message says what was expected where. */
export class QasmSyntaxError extends InvalidInputError {
  readonly line: number;
  readonly column: number;

  constructor(source: string, at: SourcePosition, message: string) {
    super(`${at.line}:${at.column}`, located(source, at, message));
    this.line = at.line;
    this.column = at.column;
  }
}

/** Well-formed OpenQASM that qpipe does not run; the message names the feature. */
export class QasmUnsupportedError extends QasmSyntaxError {
  readonly feature: string;

  constructor(source: string, at: SourcePosition, feature: string, detail: string) {
    super(source, at, `unsupported OpenQASM feature "${feature}": ${detail}`);
    this.feature = feature;
  }
}

/** A program that breaks a configured limit (bytes, qubits, gates, loop iterations, nesting). */
export class QasmLimitError extends LimitExceededError {
  readonly limit: string;

  constructor(limit: string, message: string, source?: string, at?: SourcePosition) {
    super(at ? `${at.line}:${at.column}` : 'circuit', source && at ? located(source, at, message) : message);
    this.limit = limit;
  }
}

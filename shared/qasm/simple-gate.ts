/**
 * The fast path of the front end. Most of any large circuit is statements such as
 * `cx q[3], q[7];` or `rz(-pi/4) q[0];`. This scanner reads one of those straight from the
 * characters, with no tokens and no syntax tree, into a compact statement. Anything else
 * (comments, expressions beyond products of numbers and pi, whole registers, modifiers,
 * line breaks inside the statement) makes it give up and leave the statement to the
 * general parser, so it can never accept what the parser would reject.
 */
import type { SimpleGateCall } from './ast.ts';
import type { SourcePosition } from './errors.ts';
import { CHAR_CLASS, IDENT_PART, IDENT_START, type ScanPosition } from './lexer.ts';

const SPACE = 32;
const NEWLINE = 10;
const RETURN = 13;
const TAB = 9;
const DIGIT_0 = 48;
const DIGIT_9 = 57;

const NO_PARAMS: readonly number[] = Object.freeze([]);

/** Scans simple gate statements from one source; remembers recent names to reuse their strings. */
export class SimpleGateScanner {
  private readonly names: string[] = [];
  // Scratch space for one statement; its arrays are copied out at their exact size, since
  // arrays grown by push carry spare capacity that every statement would pay for.
  private readonly scratchParams: number[] = [];
  private readonly scratchRegisters: string[] = [];
  private readonly scratchIndices: number[] = [];
  private i = 0;
  private usesPi = false;

  constructor(
    private readonly source: string,
    /** Words that start statements other than gate calls (keywords, modifiers). */
    private readonly keywords: ReadonlySet<string>,
  ) {}

  /**
   * Reads consecutive simple statements from `from` into `out`, at most `max` of them, in
   * one loop (a long loop gets optimised early, which is most of the speed on one cold
   * run). Returns the position after the last statement read, or `from` when none was.
   */
  scanRun(
    from: ScanPosition,
    out: { push(call: SimpleGateCall): unknown; readonly length: number },
    max: number,
  ): ScanPosition {
    const source = this.source;
    let line = from.line;
    let lineStart = from.lineStart;
    let i = from.offset;
    let end = i;
    let endLine = line;
    let endLineStart = lineStart;
    while (out.length < max) {
      // White space and line breaks; a comment ends the run.
      for (;;) {
        const code = source.charCodeAt(i);
        if (code === NEWLINE) {
          line++;
          lineStart = i + 1;
        } else if (code !== SPACE && code !== TAB && code !== RETURN) break;
        i++;
      }
      const call = this.statement(i, { line, column: i - lineStart + 1 });
      if (!call) break;
      out.push(call);
      i = end = this.i;
      endLine = line;
      endLineStart = lineStart;
    }
    return out.length === 0 ? from : { offset: end, line: endLine, lineStart: endLineStart };
  }

  /** The statement at `start`, or undefined to give up. */
  private statement(start: number, at: SourcePosition): SimpleGateCall | undefined {
    this.i = start;
    this.usesPi = false;
    const name = this.identifier();
    if (name === undefined || this.keywords.has(name)) return undefined;
    this.spaces();
    let params = NO_PARAMS;
    if (this.source.charCodeAt(this.i) === 40 /* ( */) {
      this.i++;
      const values = this.scratchParams;
      let count = 0;
      do {
        this.spaces();
        const value = this.product();
        if (value === undefined) return undefined;
        values[count++] = value;
        this.spaces();
      } while (this.take(44 /* , */));
      if (!this.take(41 /* ) */)) return undefined;
      params = values.slice(0, count);
      this.spaces();
    }
    const registers = this.scratchRegisters;
    const indices = this.scratchIndices;
    let count = 0;
    do {
      this.spaces();
      const register = this.identifier();
      if (register === undefined || this.keywords.has(register)) return undefined;
      this.spaces();
      if (!this.take(91 /* [ */)) return undefined;
      this.spaces();
      const index = this.index();
      if (index === undefined) return undefined;
      this.spaces();
      if (!this.take(93 /* ] */)) return undefined;
      registers[count] = register;
      indices[count++] = index;
      this.spaces();
    } while (this.take(44 /* , */));
    if (!this.take(59 /* ; */)) return undefined;
    return {
      kind: 'simpleGate',
      name,
      params,
      usesPi: this.usesPi,
      registers: registers.slice(0, count),
      indices: indices.slice(0, count),
      at,
      offset: start,
    };
  }

  private take(code: number): boolean {
    if (this.source.charCodeAt(this.i) !== code) return false;
    this.i++;
    return true;
  }

  private spaces(): void {
    const source = this.source;
    let code = source.charCodeAt(this.i);
    while (code === SPACE || code === TAB) code = source.charCodeAt(++this.i);
  }

  /** An ASCII identifier, as a string shared with earlier statements when possible. */
  private identifier(): string | undefined {
    const source = this.source;
    const start = this.i;
    const first = source.charCodeAt(start);
    if (!(first < 128 && (CHAR_CLASS[first] as number) & IDENT_START)) return undefined;
    let end = start + 1;
    for (;;) {
      const code = source.charCodeAt(end);
      if (code < 128 && (CHAR_CLASS[code] as number) & IDENT_PART) end++;
      else if (code >= 128)
        return undefined; // Unicode identifiers: the general lexer's job.
      else break;
    }
    this.i = end;
    const length = end - start;
    for (const name of this.names) {
      if (name.length === length && source.startsWith(name, start)) return name;
    }
    const name = source.slice(start, end);
    if (this.names.length === 32) this.names.pop();
    this.names.unshift(name);
    return name;
  }

  /** A register index: a plain decimal integer. */
  private index(): number | undefined {
    const source = this.source;
    const start = this.i;
    let value = 0;
    let code = source.charCodeAt(this.i);
    while (code >= DIGIT_0 && code <= DIGIT_9) {
      value = value * 10 + (code - DIGIT_0);
      code = source.charCodeAt(++this.i);
    }
    const digits = this.i - start;
    // Leading zeros, separators and huge numbers are the general lexer's to judge.
    if (digits === 0 || digits > 9 || (digits > 1 && source.charCodeAt(start) === DIGIT_0)) return undefined;
    if (code === 95 /* _ */ || code === 46 /* . */) return undefined;
    return value;
  }

  /** `-`? factor ((`*` | `/`) factor)*, where a factor is a decimal number or `pi`. */
  private product(): number | undefined {
    const negative = this.take(45 /* - */);
    if (negative) this.spaces();
    let value = this.factor();
    if (value === undefined) return undefined;
    for (;;) {
      this.spaces();
      const op = this.source.charCodeAt(this.i);
      if (op !== 42 /* * */ && op !== 47 /* / */) break;
      // `**` is a power, and `/*` or `//` a comment: both for the general parser.
      const after = this.source.charCodeAt(this.i + 1);
      if (after === 42 || after === 47) return undefined;
      this.i++;
      this.spaces();
      const right = this.factor();
      if (right === undefined || (op === 47 && right === 0)) return undefined;
      value = op === 42 ? value * right : value / right;
    }
    if (negative) value = -value;
    return Number.isFinite(value) ? value : undefined;
  }

  private factor(): number | undefined {
    const source = this.source;
    const start = this.i;
    const first = source.charCodeAt(start);
    if (first === 112 /* p */ && source.charCodeAt(start + 1) === 105 /* i */) {
      const next = source.charCodeAt(start + 2);
      if (next < 128 && (CHAR_CLASS[next] as number) & IDENT_PART) return undefined;
      if (next >= 128) return undefined;
      this.i = start + 2;
      this.usesPi = true;
      return Math.PI;
    }
    let i = start;
    let code = first;
    const digits = () => {
      const from = i;
      while (code >= DIGIT_0 && code <= DIGIT_9) code = source.charCodeAt(++i);
      return i - from;
    };
    let count = digits();
    if (code === 46 /* . */) {
      code = source.charCodeAt(++i);
      count += digits();
    }
    if (count === 0) return undefined;
    if (code === 101 || code === 69 /* e E */) {
      code = source.charCodeAt(++i);
      if (code === 43 || code === 45 /* + - */) code = source.charCodeAt(++i);
      if (digits() === 0) return undefined;
    }
    // A number running into letters, `_` or a second `.` is the general lexer's to judge.
    if (code === 46 || code >= 128 || (CHAR_CLASS[code] as number) & IDENT_PART) return undefined;
    this.i = i;
    return Number(source.slice(start, i));
  }
}

/** Turns OpenQASM 2/3 source into tokens with line:column, in one linear pass. */
import { QasmSyntaxError, type SourcePosition } from './errors.ts';

/** Kinds of token. Keywords are identifiers; the parser tells them apart. */
export type TokenKind =
  'ident' | 'hwqubit' | 'int' | 'float' | 'duration' | 'string' | 'punct' | 'pragma' | 'annotation' | 'eof';

/** A place in the source: offset, line, and the offset where that line starts. */
export interface ScanPosition {
  readonly offset: number;
  readonly line: number;
  readonly lineStart: number;
}

/** One token with where it starts. */
export interface Token extends SourcePosition {
  readonly kind: TokenKind;
  readonly text: string;
}

// Longest first, so that "**=" wins over "**" and "*".
const PUNCTUATION = [
  '<<=',
  '>>=',
  '**=',
  '->',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '<<',
  '>>',
  '**',
  '++',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '~=',
  '+',
  '-',
  '*',
  '/',
  '%',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  ';',
  ':',
  '=',
  '<',
  '>',
  '!',
  '~',
  '&',
  '|',
  '^',
  '@',
  '.',
];

// First character to the punctuation that can start with it, longest first.
const PUNCTUATION_BY_FIRST = new Map<string, string[]>();
for (const p of PUNCTUATION) {
  const list = PUNCTUATION_BY_FIRST.get(p[0] as string) ?? [];
  list.push(p);
  PUNCTUATION_BY_FIRST.set(p[0] as string, list);
}

/** Character-class bits of CHAR_CLASS. */
export const IDENT_START = 1;
export const IDENT_PART = 2;
/** Character classes of ASCII codes, for the hot loops of the lexer and the fast path. */
export const CHAR_CLASS = new Uint8Array(128);
for (let code = 0; code < 128; code++) {
  const c = String.fromCharCode(code);
  const letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
  CHAR_CLASS[code] = (letter ? IDENT_START | IDENT_PART : 0) | (c >= '0' && c <= '9' ? IDENT_PART : 0);
}

// Punctuation characters that begin no multi-character token, by code.
const SINGLE_PUNCTUATION: (string | undefined)[] = [];
for (const c of '()[]{},;:@.') SINGLE_PUNCTUATION[c.charCodeAt(0)] = c;

const isDigit = (c: string) => c >= '0' && c <= '9';
/** What the OpenQASM 3 grammar lets start an identifier beyond ASCII: letters of every case and script, and letter numbers. */
const UNICODE_START = /^[\p{Lu}\p{Ll}\p{Lt}\p{Lm}\p{Lo}\p{Nl}]$/u;
/** The character (one code point: one or two UTF-16 units) at `i`. */
const charAt = (source: string, i: number): string => String.fromCodePoint(source.codePointAt(i) ?? 0);
/**
 * Code units of the identifier-start character at `i`, 0 for none. ASCII first; a Unicode one
 * is read as a whole code point, so letters outside the BMP (𝜃) are letters, not two halves.
 */
const identStartAt = (source: string, i: number): number => {
  const c = source[i] ?? '';
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_') return 1;
  if (c <= '\x7f') return 0;
  const ch = charAt(source, i);
  return UNICODE_START.test(ch) ? ch.length : 0;
};
/** Code units of the identifier character at `i` (a start character or a digit), 0 for none. */
const identPartAt = (source: string, i: number): number =>
  identStartAt(source, i) ||
  (isDigit(source[i] ?? '')
    ? 1
    : (source[i] ?? '') > '\x7f' && /^\p{N}$/u.test(charAt(source, i))
      ? charAt(source, i).length
      : 0);

/**
 * Produces tokens one at a time, so a large program never holds all its tokens at once
 * (they die young, which keeps garbage collection cheap). Comments and white space are
 * dropped; `#pragma` lines are kept.
 */
export class Lexer {
  private i = 0;
  private line = 1;
  private lineStart = 0;
  private lastLine = 0;
  private readonly n: number;

  constructor(
    private readonly source: string,
    start?: ScanPosition,
  ) {
    this.n = source.length;
    if (start) {
      this.i = start.offset;
      this.line = start.line;
      this.lineStart = start.lineStart;
    }
  }

  /** Where the lexer stands, for a scanner that reads ahead of it (simple-gate.ts). */
  position(): ScanPosition {
    return { offset: this.i, line: this.line, lineStart: this.lineStart };
  }

  /** Continues after text another scanner read, which ended with a token at `position`. */
  resume(position: ScanPosition): void {
    this.i = position.offset;
    this.line = position.line;
    this.lineStart = position.lineStart;
    this.lastLine = position.line;
  }

  private fail(offset: number, message: string): never {
    throw new QasmSyntaxError(this.source, { line: this.line, column: offset - this.lineStart + 1 }, message);
  }

  private token(kind: TokenKind, start: number, text: string): Token {
    this.lastLine = this.line;
    return { kind, text, line: this.line, column: start - this.lineStart + 1 };
  }

  /** The next token, or an `eof` token at the end. */
  next(): Token {
    const source = this.source;
    const n = this.n;
    let i = this.i;
    const fail = (offset: number, message: string): never => this.fail(offset, message);
    while (i < n) {
      const code = source.charCodeAt(i);
      if (code === 10) {
        i++;
        this.line++;
        this.lineStart = i;
        continue;
      }
      if (code === 32 || code === 9 || code === 13 || code === 12 || code === 11) {
        i++;
        continue;
      }
      if (code < 128 && (CHAR_CLASS[code] as number) & IDENT_START) {
        // The common case first: an ASCII identifier or keyword.
        const start = i++;
        while (i < n) {
          const next = source.charCodeAt(i);
          if (next < 128) {
            if (((CHAR_CLASS[next] as number) & IDENT_PART) === 0) break;
            i++;
            continue;
          }
          const width = identPartAt(source, i);
          if (width === 0) break;
          i += width;
        }
        this.i = i;
        return this.token('ident', start, source.slice(start, i));
      }
      if (code < 128 && SINGLE_PUNCTUATION[code] !== undefined) {
        // Punctuation that starts no longer token: ( ) [ ] { } , ; : @ .
        const text = SINGLE_PUNCTUATION[code];
        if (!(code === 64 && this.lastLine !== this.line) && !(code === 46 && isDigit(source[i + 1] ?? ''))) {
          this.i = i + 1;
          return this.token('punct', i, text);
        }
      }
      if (code >= 48 && code <= 57) {
        // Fast path for a plain decimal integer such as the 3 in q[3].
        let end = i + 1;
        while (end < n && source.charCodeAt(end) >= 48 && source.charCodeAt(end) <= 57) end++;
        const after = end < n ? source.charCodeAt(end) : 0;
        const special =
          after === 46 || after === 95 || (after < 128 ? ((CHAR_CLASS[after] as number) & IDENT_PART) !== 0 : true);
        if (!special && !(code === 48 && end > i + 1)) {
          this.i = end;
          return this.token('int', i, source.slice(i, end));
        }
      }
      const c = source[i] as string;
      if (c === '/' && source[i + 1] === '/') {
        while (i < n && source[i] !== '\n') i++;
        continue;
      }
      if (c === '/' && source[i + 1] === '*') {
        const start = i;
        const startLine = this.line;
        const startColumn = start - this.lineStart + 1;
        i += 2;
        while (i < n && !(source[i] === '*' && source[i + 1] === '/')) {
          if (source[i] === '\n') {
            this.line++;
            this.lineStart = i + 1;
          }
          i++;
        }
        if (i >= n) {
          throw new QasmSyntaxError(
            source,
            { line: startLine, column: startColumn },
            'unterminated comment: expected */',
          );
        }
        i += 2;
        continue;
      }
      const start = i;
      if (c === '#') {
        if (source.startsWith('#pragma', i) && identPartAt(source, i + 7) === 0) {
          while (i < n && source[i] !== '\n') i++;
          this.i = i;
          return this.token('pragma', start, source.slice(start + 7, i).trim());
        }
        if (source.startsWith('#dim', i)) fail(start, 'unexpected "#dim": only allowed in array parameters');
        fail(start, 'unexpected "#": expected "#pragma"');
      }
      if (c === '"' || c === "'") {
        i++;
        while (i < n && source[i] !== c && source[i] !== '\n') i++;
        if (source[i] !== c) fail(start, `unterminated string: expected closing ${c}`);
        i++;
        this.i = i;
        return this.token('string', start, source.slice(start + 1, i - 1));
      }
      if (c === '$') {
        i++;
        while (i < n && isDigit(source[i] as string)) i++;
        if (i === start + 1) fail(start, 'expected a physical qubit number after "$"');
        this.i = i;
        return this.token('hwqubit', start, source.slice(start, i));
      }
      if (isDigit(c) || (c === '.' && isDigit(source[i + 1] ?? ''))) {
        i = scanNumber(source, i, fail);
        const text = source.slice(start, i);
        if (identPartAt(source, i) > 0) {
          const word = /^[\p{L}\p{N}_]+/u.exec(source.slice(i, i + 64))?.[0] ?? '';
          if (word === 'im') fail(start, 'imaginary numbers are not supported');
          if (!['dt', 'ns', 'us', 'µs', 'ms', 's'].includes(word)) {
            fail(start, `invalid number "${text}${word}": a number cannot run into letters`);
          }
          i += word.length;
          this.i = i;
          return this.token('duration', start, source.slice(start, i));
        }
        this.i = i;
        return this.token(/[.eE]/.test(text) && !/^0[xXbBoO]/.test(text) ? 'float' : 'int', start, text);
      }
      if (c === '@' && identStartAt(source, i + 1) > 0 && this.lastLine !== this.line) {
        // An annotation (`@name ...` at the start of a line) applies to the next statement.
        while (i < n && source[i] !== '\n') i++;
        this.i = i;
        return this.token('annotation', start, source.slice(start + 1, i).trim());
      }
      const startWidth = identStartAt(source, i);
      if (startWidth > 0) {
        i += startWidth;
        for (let width = identPartAt(source, i); i < n && width > 0; width = identPartAt(source, i)) i += width;
        this.i = i;
        return this.token('ident', start, source.slice(start, i));
      }
      const punct = PUNCTUATION_BY_FIRST.get(c)?.find((p) => p.length === 1 || source.startsWith(p, i));
      if (!punct) {
        // Named as a whole code point, with its number, never half of a surrogate pair.
        const ch = charAt(source, i);
        const code = (ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
        return fail(start, `unexpected character "${ch}" (U+${code})`);
      }
      this.i = i + punct.length;
      return this.token('punct', start, punct);
    }
    this.i = i;
    return { kind: 'eof', text: '', line: this.line, column: n - this.lineStart + 1 };
  }
}

function scanNumber(source: string, start: number, fail: (offset: number, message: string) => never): number {
  let i = start;
  const digits = (allowed: (c: string) => boolean) => {
    const from = i;
    while (i < source.length && (allowed(source[i] as string) || source[i] === '_')) {
      if (source[i] === '_' && (i === from || !allowed(source[i + 1] ?? ''))) {
        fail(i, 'invalid number: "_" must separate digits');
      }
      i++;
    }
  };
  if (source[i] === '0' && /[xXbBoO]/.test(source[i + 1] ?? '')) {
    const base = (source[i + 1] as string).toLowerCase();
    i += 2;
    const allowed =
      base === 'x'
        ? (c: string) => /[0-9a-fA-F]/.test(c)
        : base === 'b'
          ? (c: string) => c === '0' || c === '1'
          : (c: string) => /[0-7]/.test(c);
    const from = i;
    digits(allowed);
    if (i === from) fail(start, 'invalid number: no digits after the base prefix');
    return i;
  }
  digits(isDigit);
  if (source[i] === '.') {
    i++;
    digits(isDigit);
  }
  if (source[i] === 'e' || source[i] === 'E') {
    const mark = i;
    i++;
    if (source[i] === '+' || source[i] === '-') i++;
    const from = i;
    digits(isDigit);
    if (i === from) fail(mark, 'invalid number: expected digits after the exponent');
  }
  if (source[i] === '.' && isDigit(source[i + 1] ?? '')) fail(i, 'invalid number: a second decimal point');
  return i;
}

/**
 * A recursive-descent parser for OpenQASM 2.0 and the gate-level subset of OpenQASM 3
 * (https://openqasm.com/). Linear in the number of tokens. Pulse-level and
 * run-time-classical features are recognised and rejected by name.
 */
import type {
  Expr,
  GateCall,
  IndexItem,
  Modifier,
  Operand,
  Program,
  SimpleGateCall,
  Statement,
  TypeSpec,
} from './ast.ts';
import { QasmLimitError, QasmSyntaxError, QasmUnsupportedError, type SourcePosition } from './errors.ts';
import { Lexer, type ScanPosition, type Token } from './lexer.ts';
import { SimpleGateScanner } from './simple-gate.ts';

/** Limits the parser enforces. */
export interface ParseLimits {
  /** Deepest nesting of blocks and expressions. */
  readonly maxNesting: number;
  /** Whether to read simple gate statements on the fast path (simple-gate.ts); default true. */
  readonly simpleGates?: boolean;
}

const UNSUPPORTED: Record<string, string> = {
  defcal: 'pulse-level calibrations are not run by qpipe; remove the defcal blocks',
  defcalgrammar: 'pulse-level calibrations are not run by qpipe',
  cal: 'pulse-level calibration blocks are not run by qpipe',
  extern: 'extern functions need a control system; qpipe runs gate-level circuits only',
  delay: 'timing instructions are not simulated; remove the delay',
  box: 'timing boxes are not simulated; remove the box',
  stretch: 'timing (stretch) is not simulated',
  duration: 'timing (duration) is not simulated',
  durationof: 'timing (durationof) is not simulated',
  def: 'subroutines are not supported; write the body out or use a gate definition',
  while: 'while loops are not supported, since the iteration count must be known before running; use for over a range',
  switch: 'switch statements are not supported; use if/else',
  array: 'classical arrays are not supported',
  complex: 'complex classical values are not supported',
  let: 'aliases (let) are not supported',
  break: 'break is not supported',
  continue: 'continue is not supported',
  return: 'return is only meaningful in subroutines, which are not supported',
  end: 'end is not supported',
  output: 'output declarations are not supported; measured bits are returned as counts',
};

const CLASSICAL_TYPES = new Set(['int', 'uint', 'float', 'angle', 'bool']);
const MODIFIERS = new Set(['inv', 'pow', 'ctrl', 'negctrl']);
const RESERVED = new Set([
  'OPENQASM',
  'include',
  'qreg',
  'creg',
  'qubit',
  'bit',
  'gate',
  'opaque',
  'measure',
  'reset',
  'barrier',
  'if',
  'else',
  'for',
  'in',
  'const',
  'input',
  'int',
  'uint',
  'float',
  'angle',
  'bool',
  ...Object.keys(UNSUPPORTED),
]);

// Words that can start something other than a plain gate call.
const KEYWORDS = new Set([
  ...RESERVED,
  ...MODIFIERS,
  'gphase',
  'else',
  'true',
  'false',
  'bit',
  'qubit',
  'complex',
  'array',
]);

// Binary operators from lowest to highest precedence (OpenQASM 3 spec, "Expressions").
const BINARY_LEVELS: readonly (readonly string[])[] = [
  ['||'],
  ['&&'],
  ['|'],
  ['^'],
  ['&'],
  ['==', '!='],
  ['<', '<=', '>', '>='],
  ['<<', '>>'],
  ['+', '-'],
  ['*', '/', '%'],
];

/** A program header plus its statements, parsed lazily as they are consumed. */
export interface StatementStream {
  readonly version: 2 | 3;
  readonly declaredVersion: boolean;
  /** The next statement, or undefined at the end of the program. */
  next(): Statement | SimpleGateCall | undefined;
}

class Parser {
  private depth = 0;
  private version: 2 | 3 = 3;
  private readonly lexer: Lexer;
  // Lookahead window: window[head] is the current token.
  private window: Token[] = [];
  private head = 0;
  private ended: Token | undefined;
  private readonly simpleGates: SimpleGateScanner;

  constructor(
    private readonly source: string,
    private readonly limits: ParseLimits,
    start?: ScanPosition,
  ) {
    this.lexer = new Lexer(source, start);
    this.simpleGates = new SimpleGateScanner(source, KEYWORDS);
  }

  /** The one statement at the start position (see parseStatementAt). */
  parseOne(): Statement | undefined {
    return this.statement();
  }

  parseProgram(): Program {
    const stream = this.stream();
    const statements: (Statement | SimpleGateCall)[] = [];
    for (let statement = stream.next(); statement; statement = stream.next()) statements.push(statement);
    return { version: stream.version, declaredVersion: stream.declaredVersion, statements };
  }

  stream(): StatementStream {
    let declaredVersion = false;
    if (this.isWord('OPENQASM')) {
      const keyword = this.next();
      const number = this.next();
      if (number.kind !== 'int' && number.kind !== 'float')
        this.fail(number, 'expected a version number such as 2.0 or 3');
      const major = Number.parseInt(number.text, 10);
      if (major !== 2 && major !== 3)
        this.fail(number, `unsupported OpenQASM version ${number.text}: expected 2.0 or 3`);
      this.version = major;
      declaredVersion = true;
      this.expect(';', keyword);
    }
    // Without a version line, qelib1.inc marks OpenQASM 2 (where ^ means power); otherwise 3.
    if (!declaredVersion && /include\s+"qelib1\.inc"/.test(this.source)) this.version = 2;
    return { version: this.version, declaredVersion, next: () => this.nextStatement() };
  }

  // Statements parsed but not yet handed out (a run from the fast path, or one statement
  // and those it implies).
  private queue: (Statement | SimpleGateCall)[] = [];
  private queued = 0;

  private nextStatement(): Statement | SimpleGateCall | undefined {
    for (;;) {
      if (this.queued < this.queue.length) return this.queue[this.queued++];
      this.queue = [];
      this.queued = 0;
      if (this.head === this.window.length && !this.ended && this.limits.simpleGates !== false) {
        // Between statements, try the fast path first (see simple-gate.ts).
        const end = this.simpleGates.scanRun(this.lexer.position(), this.queue, 512);
        if (this.queue.length > 0) {
          this.lexer.resume(end);
          continue;
        }
      }
      if (this.peek().kind === 'eof') return undefined;
      const statement = this.statement();
      if (statement) this.queue.push(statement);
      this.queue.push(...this.pending.splice(0));
    }
  }

  // ---- tokens -------------------------------------------------------------------------

  private peek(ahead = 0): Token {
    const index = this.head + ahead;
    const window = this.window;
    while (window.length <= index) window.push(this.ended ?? this.fetch());
    return window[index] as Token;
  }

  private fetch(): Token {
    const token = this.lexer.next();
    if (token.kind === 'eof') this.ended = token;
    return token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind === 'eof') return token;
    // Compact now and then, so the window stays small without reallocating on every token.
    if (++this.head >= 1024) {
      this.window = this.window.slice(this.head);
      this.head = 0;
    }
    return token;
  }

  private isPunct(text: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'punct' && token.text === text;
  }

  private isWord(text: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'ident' && token.text === text;
  }

  private accept(text: string): boolean {
    if (!this.isPunct(text)) return false;
    this.next();
    return true;
  }

  private expect(text: string, context?: Token): Token {
    const token = this.peek();
    if (token.kind === 'punct' && token.text === text) return this.next();
    const after = context ? ` after "${context.text}"` : '';
    return this.fail(token, `expected "${text}"${after} but found ${describe(token)}`);
  }

  private identifier(what: string): Token {
    const token = this.peek();
    if (token.kind !== 'ident' || RESERVED.has(token.text)) {
      return this.fail(token, `expected ${what} but found ${describe(token)}`);
    }
    return this.next();
  }

  private fail(at: SourcePosition, message: string): never {
    throw new QasmSyntaxError(this.source, at, message);
  }

  private nest<T>(at: SourcePosition, body: () => T): T {
    if (++this.depth > this.limits.maxNesting) {
      throw new QasmLimitError('maxNesting', `nesting deeper than ${this.limits.maxNesting} levels`, this.source, at);
    }
    try {
      return body();
    } finally {
      this.depth--;
    }
  }

  // ---- statements ---------------------------------------------------------------------

  private statement(): Statement | undefined {
    const token = this.peek();
    if (token.kind === 'ident' && !KEYWORDS.has(token.text)) {
      // Fast path for the bulk of any circuit: a plain gate call such as `cx q[0], q[1];`.
      const after = this.peek(1);
      if (after.kind === 'hwqubit' || (after.kind === 'ident' && !KEYWORDS.has(after.text))) return this.gateCall(true);
    }
    if (token.kind === 'pragma') {
      this.next();
      return { kind: 'pragma', text: token.text, at: token };
    }
    if (token.kind === 'annotation') {
      this.next();
      return undefined;
    }
    if (token.kind === 'hwqubit' || token.kind === 'int' || token.kind === 'float' || token.kind === 'string') {
      return this.fail(token, `expected a statement but found ${describe(token)}`);
    }
    if (token.kind === 'punct') {
      if (token.text === '{') return this.fail(token, 'a bare block "{ ... }" is not a statement here');
      return this.fail(token, `expected a statement but found ${describe(token)}`);
    }
    if (token.kind === 'eof') return this.fail(token, 'expected a statement but the program ended');
    const word = token.text;
    if (word === 'OPENQASM') return this.fail(token, 'the OPENQASM version line must come first');
    if (word === 'const' || word === 'input') return this.classicalDeclaration();
    if (word === 'output') {
      throw new QasmUnsupportedError(this.source, token, 'output', UNSUPPORTED['output'] as string);
    }
    if (Object.hasOwn(UNSUPPORTED, word) && !(word === 'end' && this.version === 2)) {
      throw new QasmUnsupportedError(this.source, token, word, UNSUPPORTED[word] as string);
    }
    switch (word) {
      case 'include':
        return this.include();
      case 'qreg':
      case 'creg':
        return this.oldRegister();
      case 'qubit':
        return this.qubitDeclaration();
      case 'bit':
        return this.bitDeclaration();
      case 'gate':
        return this.gateDefinition();
      case 'opaque':
        return this.opaqueDefinition();
      case 'measure':
        return this.measure();
      case 'reset': {
        this.next();
        const qubits = this.operand();
        this.expect(';');
        return { kind: 'reset', qubits, at: token };
      }
      case 'barrier':
        return this.barrier();
      case 'if':
        return this.ifStatement();
      case 'for':
        return this.forStatement();
      case 'else':
        return this.fail(token, '"else" without a matching "if"');
      default:
        break;
    }
    if (CLASSICAL_TYPES.has(word)) return this.classicalDeclaration();
    if (MODIFIERS.has(word) || word === 'gphase') return this.gateCall(true);
    // An identifier: an assignment (`x = ...`, `c[0] = measure q[0]`) or a gate call.
    if (this.looksLikeAssignment()) return this.assignment();
    return this.gateCall(true);
  }

  private looksLikeAssignment(): boolean {
    let ahead = 1;
    if (this.isPunct('[', ahead)) {
      let depth = 0;
      for (; ; ahead++) {
        const token = this.peek(ahead);
        if (token.kind === 'eof') return false;
        if (token.kind === 'punct' && token.text === '[') depth++;
        if (token.kind === 'punct' && token.text === ']' && --depth === 0) break;
      }
      ahead++;
    }
    const token = this.peek(ahead);
    return (
      token.kind === 'punct' &&
      (token.text === '=' || (token.text.endsWith('=') && !['==', '!=', '<=', '>='].includes(token.text)))
    );
  }

  private include(): Statement {
    const keyword = this.next();
    const path = this.next();
    if (path.kind !== 'string')
      this.fail(path, `expected a file name in quotes after "include" but found ${describe(path)}`);
    this.expect(';', path);
    return { kind: 'include', path: path.text, at: keyword };
  }

  private designator(): Expr {
    const open = this.expect('[');
    const size = this.expression();
    if (this.isPunct(',')) this.fail(this.peek(), 'expected "]": a designator takes one size');
    this.expect(']', open);
    return size;
  }

  private oldRegister(): Statement {
    const keyword = this.next();
    const name = this.identifier(`a register name after "${keyword.text}"`);
    const size = this.designator();
    this.expect(';');
    return keyword.text === 'qreg'
      ? { kind: 'qubitDecl', name: name.text, size, at: keyword }
      : { kind: 'bitDecl', name: name.text, size, at: keyword };
  }

  private qubitDeclaration(): Statement {
    const keyword = this.next();
    const size = this.isPunct('[') ? this.designator() : undefined;
    const name = this.identifier('a qubit register name');
    this.expect(';');
    return size
      ? { kind: 'qubitDecl', name: name.text, size, at: keyword }
      : { kind: 'qubitDecl', name: name.text, at: keyword };
  }

  private bitDeclaration(): Statement {
    const keyword = this.next();
    const size = this.isPunct('[') ? this.designator() : undefined;
    const name = this.identifier('a bit register name');
    let init: Expr | undefined;
    if (this.accept('=')) {
      if (this.isWord('measure')) {
        const measureToken = this.next();
        const qubits = this.operand();
        this.expect(';');
        // `bit[2] c = measure q;` declares then measures.
        const declaration: Statement = size
          ? { kind: 'bitDecl', name: name.text, size, at: keyword }
          : { kind: 'bitDecl', name: name.text, at: keyword };
        this.pending.push({
          kind: 'measure',
          qubits,
          target: { kind: 'register', name: name.text, at: name },
          at: measureToken,
        });
        return declaration;
      }
      init = this.expression();
    }
    this.expect(';');
    const base = { kind: 'bitDecl' as const, name: name.text, at: keyword };
    return { ...base, ...(size ? { size } : {}), ...(init ? { init } : {}) };
  }

  private readonly pending: Statement[] = [];

  private typeSpec(): TypeSpec {
    const token = this.next();
    if (!CLASSICAL_TYPES.has(token.text) && token.text !== 'bit') {
      if (token.text === 'complex' || token.text === 'array' || token.text === 'duration' || token.text === 'stretch') {
        throw new QasmUnsupportedError(this.source, token, token.text, UNSUPPORTED[token.text] as string);
      }
      this.fail(token, `expected a type (int, uint, float, angle, bool, bit) but found ${describe(token)}`);
    }
    const name = token.text as TypeSpec['name'];
    if (this.isPunct('[')) {
      if (name === 'bool') this.fail(this.peek(), 'bool takes no size');
      return { name, width: this.designator() };
    }
    return { name };
  }

  private classicalDeclaration(): Statement {
    const first = this.peek();
    let isConst = false;
    let isInput = false;
    if (this.isWord('const')) {
      this.next();
      isConst = true;
    } else if (this.isWord('input')) {
      this.next();
      isInput = true;
    }
    if (this.isWord('const') || this.isWord('input') || this.isWord('output')) {
      this.fail(this.peek(), `"${first.text}" cannot be combined with "${this.peek().text}"`);
    }
    if (this.isWord('qreg') || this.isWord('qubit'))
      this.fail(this.peek(), `${first.text} declarations must be classical`);
    const type = this.typeSpec();
    const name = this.identifier('a variable name');
    let init: Expr | undefined;
    if (this.accept('=')) {
      if (isInput) this.fail(name, 'an input parameter cannot have a value in the program');
      if (this.isWord('measure')) this.fail(this.peek(), 'measure can only be assigned to bit registers');
      init = this.expression();
    }
    if (isConst && !init) this.fail(this.peek(), `a const needs a value: "const ${type.name} ${name.text} = ...;"`);
    this.expect(';');
    return { kind: 'classicalDecl', type, name: name.text, isConst, isInput, at: first, ...(init ? { init } : {}) };
  }

  private identifierList(what: string, closers: readonly string[]): string[] {
    const names: string[] = [];
    do {
      if (closers.some((c) => this.isPunct(c))) break; // trailing comma
      names.push(this.identifier(what).text);
    } while (this.accept(','));
    return names;
  }

  private gateSignature(): { name: Token; params: string[]; qubits: string[] } {
    const name = this.identifier('a gate name');
    let params: string[] = [];
    if (this.accept('(')) {
      params = this.identifierList('a parameter name', [')']);
      this.expect(')');
    }
    const qubits = this.identifierList('a qubit argument name', ['{', ';']);
    if (qubits.length === 0) this.fail(this.peek(), 'a gate needs at least one qubit argument');
    return { name, params, qubits };
  }

  private gateDefinition(): Statement {
    const keyword = this.next();
    const { name, params, qubits } = this.gateSignature();
    const body = this.block(true);
    return { kind: 'gateDef', name: name.text, params, qubits, body, at: keyword };
  }

  private opaqueDefinition(): Statement {
    const keyword = this.next();
    const { name, params, qubits } = this.gateSignature();
    this.expect(';');
    return { kind: 'gateDef', name: name.text, params, qubits, body: undefined, at: keyword };
  }

  private block(inGate = false): Statement[] {
    const open = this.expect('{');
    return this.nest(open, () => {
      const statements: Statement[] = [];
      while (!this.isPunct('}')) {
        if (this.peek().kind === 'eof') this.fail(this.peek(), 'expected "}" to close the block opened here earlier');
        const statement = this.statement();
        if (!statement) continue;
        if (inGate && !['gateCall', 'barrier', 'for', 'pragma'].includes(statement.kind)) {
          this.fail(statement.at, `a gate body may only apply gates, not "${statement.kind}"`);
        }
        statements.push(statement, ...this.pending.splice(0));
      }
      this.next();
      return statements;
    });
  }

  private body(): Statement[] {
    if (this.isPunct('{')) return this.block();
    const statement = this.statement();
    if (!statement) return this.fail(this.peek(), 'expected a statement');
    return [statement, ...this.pending.splice(0)];
  }

  private measure(): Statement {
    const keyword = this.next();
    const qubits = this.operand();
    if (this.accept('->')) {
      const target = this.operand();
      this.expect(';');
      return { kind: 'measure', qubits, target, at: keyword };
    }
    if (this.isPunct(',')) this.fail(this.peek(), 'measure takes one qubit operand');
    this.expect(';');
    return { kind: 'measure', qubits, at: keyword };
  }

  private barrier(): Statement {
    const keyword = this.next();
    const operands: Operand[] = [];
    if (!this.isPunct(';')) {
      do {
        if (this.isPunct(';')) break;
        operands.push(this.operand());
      } while (this.accept(','));
    }
    this.expect(';');
    return { kind: 'barrier', operands, at: keyword };
  }

  private ifStatement(): Statement {
    const keyword = this.next();
    const open = this.expect('(', keyword);
    if (this.isPunct(')')) this.fail(this.peek(), 'expected a condition');
    const condition = this.nest(open, () => this.expression());
    this.expect(')', open);
    if (this.isPunct(';')) this.fail(this.peek(), 'expected a statement or block after the if condition');
    if (this.isWord('else')) this.fail(this.peek(), 'expected a statement or block before "else"');
    const then = this.nest(keyword, () => this.body());
    if (this.isWord('else')) {
      const elseToken = this.next();
      if (this.isPunct('(')) this.fail(this.peek(), '"else" takes no condition; use "else if (...)"');
      const otherwise = this.nest(elseToken, () => this.body());
      return { kind: 'if', condition, then, otherwise, at: keyword };
    }
    return { kind: 'if', condition, then, at: keyword };
  }

  private forStatement(): Statement {
    const keyword = this.next();
    if (this.isPunct('(')) this.fail(this.peek(), 'expected "for <type> <name> in ..."');
    const typeToken = this.peek();
    if (typeToken.kind !== 'ident' || !CLASSICAL_TYPES.has(typeToken.text)) {
      // OpenQASM 3.0 allowed `for i in ...`; keep accepting it when the next word is a name followed by `in`.
      if (!(typeToken.kind === 'ident' && this.isWord('in', 1) && !RESERVED.has(typeToken.text))) {
        this.fail(typeToken, `expected a loop variable type (int, uint, ...) but found ${describe(typeToken)}`);
      }
    } else {
      this.typeSpec();
    }
    const variable = this.identifier('a loop variable name');
    const inToken = this.peek();
    if (!this.isWord('in')) this.fail(inToken, `expected "in" after the loop variable but found ${describe(inToken)}`);
    this.next();
    let range: (IndexItem & { kind: 'range' }) | undefined;
    let set: Expr[] | undefined;
    if (this.isPunct('[')) {
      const open = this.next();
      const item = this.indexItem();
      if (item.kind !== 'range') this.fail(open, 'expected a range such as [0:3] or [0:2:10]');
      range = item;
      this.expect(']', open);
    } else if (this.isPunct('{')) {
      const open = this.next();
      set = [];
      do {
        if (this.isPunct('}')) break;
        set.push(this.expression());
      } while (this.accept(','));
      this.expect('}', open);
    } else {
      const token = this.peek();
      if (token.kind === 'ident' && !RESERVED.has(token.text)) {
        throw new QasmUnsupportedError(
          this.source,
          token,
          'for over a register',
          'loop over a range [a:b] or a set {a, b}',
        );
      }
      this.fail(token, `expected a range [a:b] or a set {a, b} but found ${describe(token)}`);
    }
    if (this.isPunct(';')) this.fail(this.peek(), 'expected a loop body');
    const body = this.nest(keyword, () => this.body());
    const base = { kind: 'for' as const, variable: variable.text, body, at: keyword };
    return range ? { ...base, range } : { ...base, set: set ?? [] };
  }

  private assignment(): Statement {
    const target = this.operand();
    const opToken = this.next();
    if (this.isWord('measure')) {
      if (opToken.text !== '=') this.fail(opToken, 'a measurement can only be assigned with "="');
      const keyword = this.next();
      const qubits = this.operand();
      if (this.isPunct('->')) this.fail(this.peek(), 'use either "c = measure q" or "measure q -> c", not both');
      if (this.isPunct(',')) this.fail(this.peek(), 'measure takes one qubit operand');
      this.expect(';');
      return { kind: 'measure', qubits, target, at: keyword };
    }
    const value = this.expression();
    this.expect(';');
    return { kind: 'assign', target, op: opToken.text, value, at: target.at };
  }

  private gateCall(asStatement: boolean): GateCall {
    const start = this.peek();
    const modifiers: Modifier[] = [];
    while (this.peek().kind === 'ident' && MODIFIERS.has(this.peek().text)) {
      const token = this.next();
      let arg: Expr | undefined;
      if (this.accept('(')) {
        arg = this.expression();
        if (this.isPunct(',')) this.fail(this.peek(), `${token.text} takes one argument`);
        this.expect(')', token);
      } else if (token.text === 'pow') {
        this.fail(this.peek(), 'pow needs an exponent: pow(k) @');
      }
      if (token.text === 'inv' && arg) this.fail(arg.at, 'inv takes no argument');
      this.expect('@', token);
      modifiers.push(
        arg
          ? { kind: token.text as Modifier['kind'], arg, at: token }
          : { kind: token.text as Modifier['kind'], at: token },
      );
    }
    const nameToken = this.peek();
    if (nameToken.kind !== 'ident' || (RESERVED.has(nameToken.text) && nameToken.text !== 'gphase')) {
      this.fail(nameToken, `expected a gate name but found ${describe(nameToken)}`);
    }
    this.next();
    if (modifiers.length === 0 && this.isPunct('@')) {
      this.fail(this.peek(), `"${nameToken.text}" is not a gate modifier (inv, pow, ctrl, negctrl)`);
    }
    const params: Expr[] = [];
    if (this.accept('(')) {
      do {
        if (this.isPunct(')')) break;
        params.push(this.expression());
      } while (this.accept(','));
      this.expect(')', nameToken);
      if (this.isPunct('(')) this.fail(this.peek(), 'expected qubit operands after the gate parameters');
    }
    const operands: Operand[] = [];
    while (!this.isPunct(';')) {
      operands.push(this.operand());
      if (!this.accept(',')) break;
    }
    if (asStatement) this.expect(';');
    if (operands.length === 0 && nameToken.text !== 'gphase') {
      this.fail(this.peek(), `expected qubit operands for gate "${nameToken.text}"`);
    }
    return { kind: 'gateCall', modifiers, name: nameToken.text, params, operands, at: start };
  }

  private operand(): Operand {
    const token = this.peek();
    if (token.kind === 'hwqubit') {
      this.next();
      return { kind: 'physical', index: Number(token.text.slice(1)), at: token };
    }
    const name = this.identifier('a qubit or bit operand');
    if (!this.isPunct('[')) return { kind: 'register', name: name.text, at: name };
    const index: IndexItem[] = [];
    while (this.isPunct('[')) {
      const open = this.next();
      index.push(this.indexItem());
      if (this.isPunct(',')) this.fail(this.peek(), 'multi-dimensional indices are not supported on registers');
      this.expect(']', open);
    }
    return { kind: 'register', name: name.text, index, at: name };
  }

  private indexItem(): IndexItem {
    if (this.isPunct('{')) {
      const open = this.next();
      const items: Expr[] = [];
      do {
        if (this.isPunct('}')) break;
        items.push(this.expression());
      } while (this.accept(','));
      this.expect('}', open);
      return { kind: 'set', items };
    }
    const start = this.isPunct(':') ? undefined : this.expression();
    if (!this.accept(':')) {
      if (!start) return this.fail(this.peek(), 'expected an index');
      return { kind: 'single', expr: start };
    }
    const second = this.isPunct(']') ? undefined : this.expression();
    if (this.accept(':')) {
      const end = this.isPunct(']') ? undefined : this.expression();
      return {
        kind: 'range',
        ...(start ? { start } : {}),
        ...(second ? { step: second } : {}),
        ...(end ? { end } : {}),
      };
    }
    return { kind: 'range', ...(start ? { start } : {}), ...(second ? { end: second } : {}) };
  }

  // ---- expressions --------------------------------------------------------------------

  expression(): Expr {
    const token = this.peek();
    if (token.kind === 'int' || token.kind === 'float') {
      // Fast path for the most common expressions: a number such as the 3 in q[3] or the 0.5 in rz(0.5).
      const after = this.peek(1);
      if (
        after.kind === 'punct' &&
        (after.text === ']' || after.text === ',' || after.text === ')' || after.text === ':')
      ) {
        return this.primary();
      }
    }
    return this.nest(token, () => this.binary(0));
  }

  private binary(level: number): Expr {
    if (level >= BINARY_LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    const ops = BINARY_LEVELS[level] as readonly string[];
    // Each operator of a chain nests the tree one level deeper (a+b+c is (a+b)+c): counted as nesting.
    for (let chain = 1; ; chain++) {
      const token = this.peek();
      if (token.kind !== 'punct' || !ops.includes(token.text)) return left;
      // In OpenQASM 2, ^ is exponentiation, handled in power().
      if (token.text === '^' && this.version === 2) return left;
      if (this.depth + chain > this.limits.maxNesting) {
        throw new QasmLimitError(
          'maxNesting',
          `an expression nests deeper than ${this.limits.maxNesting} levels (each operator of a chain is one level)`,
          this.source,
          token,
        );
      }
      this.next();
      const right = this.binary(level + 1);
      left = { kind: 'binary', op: token.text, left, right, at: left.at };
    }
  }

  private unary(): Expr {
    const token = this.peek();
    if (
      token.kind === 'punct' &&
      (token.text === '-' || token.text === '!' || token.text === '~' || token.text === '+')
    ) {
      this.next();
      const operand = this.nest(token, () => this.unary());
      return token.text === '+' ? operand : { kind: 'unary', op: token.text, operand, at: token };
    }
    return this.power();
  }

  private power(): Expr {
    const base = this.postfix();
    const token = this.peek();
    if (token.kind === 'punct' && (token.text === '**' || (token.text === '^' && this.version === 2))) {
      this.next();
      const exponent = this.nest(token, () => this.unary());
      return { kind: 'binary', op: '**', left: base, right: exponent, at: base.at };
    }
    return base;
  }

  private postfix(): Expr {
    let expr = this.primary();
    while (this.isPunct('[')) {
      const open = this.next();
      const index: IndexItem[] = [this.indexItem()];
      while (this.accept(',')) index.push(this.indexItem());
      this.expect(']', open);
      expr = { kind: 'index', target: expr, index, at: expr.at };
    }
    return expr;
  }

  private primary(): Expr {
    const token = this.peek();
    switch (token.kind) {
      case 'int':
      case 'float': {
        this.next();
        // Number() reads 0x, 0o and 0b prefixes itself; only digit separators need removing.
        const text = token.text.includes('_') ? token.text.replaceAll('_', '') : token.text;
        const value = Number(text);
        // A double holds integers exactly only up to 2^53: a wider literal keeps its digits (BigInt reads 0x, 0o, 0b).
        const exact = token.kind === 'int' && !Number.isSafeInteger(value) ? BigInt(text).toString() : undefined;
        return { kind: 'number', value, isInteger: token.kind === 'int', ...(exact ? { exact } : {}), at: token };
      }
      case 'duration':
        throw new QasmUnsupportedError(this.source, token, 'duration', UNSUPPORTED['duration'] as string);
      case 'punct':
        if (token.text === '(') {
          this.next();
          const inner = this.nest(token, () => this.binary(0));
          this.expect(')', token);
          return inner;
        }
        return this.fail(token, `expected an expression but found ${describe(token)}`);
      case 'ident':
        return this.identifierExpression(token);
      default:
        return this.fail(token, `expected an expression but found ${describe(token)}`);
    }
  }

  private identifierExpression(token: Token): Expr {
    const word = token.text;
    if (word === 'true' || word === 'false') {
      this.next();
      return { kind: 'bool', value: word === 'true', at: token };
    }
    if (CLASSICAL_TYPES.has(word) || word === 'bit') {
      const type = this.typeSpec();
      const open = this.expect('(');
      const arg = this.nest(open, () => this.binary(0));
      this.expect(')', open);
      return { kind: 'cast', type, arg, at: token };
    }
    if (word === 'measure') this.fail(token, 'measure cannot be used inside an expression');
    if (Object.hasOwn(UNSUPPORTED, word)) {
      throw new QasmUnsupportedError(this.source, token, word, UNSUPPORTED[word] as string);
    }
    if (RESERVED.has(word)) this.fail(token, `expected an expression but found the keyword "${word}"`);
    this.next();
    if (this.isPunct('(')) {
      const open = this.next();
      const args: Expr[] = [];
      do {
        if (this.isPunct(')')) break;
        args.push(this.nest(open, () => this.binary(0)));
      } while (this.accept(','));
      this.expect(')', open);
      return { kind: 'call', name: word, args, at: token };
    }
    return { kind: 'ident', name: word, at: token };
  }
}

function describe(token: Token): string {
  if (token.kind === 'eof') return 'the end of the program';
  if (token.kind === 'string') return `the string "${token.text}"`;
  return `"${token.text}"`;
}

/** Parses OpenQASM 2.0 or 3 source into a syntax tree; throws QasmSyntaxError with line:column. */
export function parseQasm(source: string, limits: ParseLimits = { maxNesting: 64 }): Program {
  return new Parser(source, limits).parseProgram();
}

/** Parses, the general way, the statement the fast path read at `call.offset`, to report its errors exactly. */
export function parseStatementAt(source: string, call: SimpleGateCall): Statement {
  const start = { offset: call.offset, line: call.at.line, lineStart: call.offset - call.at.column + 1 };
  return new Parser(source, { maxNesting: 64 }, start).parseOne() as Statement;
}

/**
 * Parses the version line, then yields statements as they are consumed, so a large
 * program's syntax tree is never held whole.
 */
export function streamQasm(source: string, limits: ParseLimits = { maxNesting: 64 }): StatementStream {
  return new Parser(source, limits).stream();
}

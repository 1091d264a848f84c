/** The syntax tree the parser builds and the elaborator unrolls into a circuit. */
import type { SourcePosition } from './errors.ts';

/** Where a node starts in the source. */
export interface Located {
  readonly at: SourcePosition;
}

/** One index or slice inside square brackets. */
export type IndexItem =
  | { readonly kind: 'single'; readonly expr: Expr }
  | { readonly kind: 'range'; readonly start?: Expr; readonly step?: Expr; readonly end?: Expr }
  | { readonly kind: 'set'; readonly items: readonly Expr[] };

/** A classical type such as `int[8]`, `float[64]`, `angle`, `bool`, `bit[4]`. */
export interface TypeSpec {
  readonly name: 'int' | 'uint' | 'float' | 'angle' | 'bool' | 'bit';
  readonly width?: Expr;
}

/** Classical expressions (parameters, conditions, loop bounds). */
export type Expr = Located &
  (
    | {
        readonly kind: 'number';
        readonly value: number;
        readonly isInteger: boolean;
        /** An integer literal past 2^53, in decimal digits: its exact value (`value` is the nearest double). */
        readonly exact?: string;
      }
    | { readonly kind: 'bool'; readonly value: boolean }
    | { readonly kind: 'ident'; readonly name: string }
    | { readonly kind: 'index'; readonly target: Expr; readonly index: readonly IndexItem[] }
    | { readonly kind: 'unary'; readonly op: string; readonly operand: Expr }
    | { readonly kind: 'binary'; readonly op: string; readonly left: Expr; readonly right: Expr }
    | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[] }
    | { readonly kind: 'cast'; readonly type: TypeSpec; readonly arg: Expr }
  );

/** A reference to qubits or bits: `q`, `q[1]`, `q[0:2]`, or a physical qubit `$3`. */
export type Operand = Located &
  (
    | { readonly kind: 'register'; readonly name: string; readonly index?: readonly IndexItem[] }
    | { readonly kind: 'physical'; readonly index: number }
  );

/** A gate modifier: `inv @`, `pow(k) @`, `ctrl(n) @`, `negctrl(n) @`. */
export interface Modifier extends Located {
  readonly kind: 'inv' | 'pow' | 'ctrl' | 'negctrl';
  readonly arg?: Expr;
}

/** A gate application, including `U`, `CX` and `gphase`. */
export interface GateCall extends Located {
  readonly kind: 'gateCall';
  readonly modifiers: readonly Modifier[];
  readonly name: string;
  readonly params: readonly Expr[];
  readonly operands: readonly Operand[];
}

/** Statements of a program. */
export type Statement =
  | GateCall
  | (Located &
      (
        | { readonly kind: 'include'; readonly path: string }
        | { readonly kind: 'qubitDecl'; readonly name: string; readonly size?: Expr }
        | { readonly kind: 'bitDecl'; readonly name: string; readonly size?: Expr; readonly init?: Expr }
        | {
            readonly kind: 'classicalDecl';
            readonly type: TypeSpec;
            readonly name: string;
            readonly init?: Expr;
            readonly isConst: boolean;
            readonly isInput: boolean;
          }
        | {
            readonly kind: 'gateDef';
            readonly name: string;
            readonly params: readonly string[];
            readonly qubits: readonly string[];
            readonly body: readonly Statement[] | undefined;
          }
        | { readonly kind: 'measure'; readonly qubits: Operand; readonly target?: Operand }
        | { readonly kind: 'reset'; readonly qubits: Operand }
        | { readonly kind: 'barrier'; readonly operands: readonly Operand[] }
        | {
            readonly kind: 'if';
            readonly condition: Expr;
            readonly then: readonly Statement[];
            readonly otherwise?: readonly Statement[];
          }
        | {
            readonly kind: 'for';
            readonly variable: string;
            readonly range?: IndexItem & { readonly kind: 'range' };
            readonly set?: readonly Expr[];
            readonly body: readonly Statement[];
          }
        | { readonly kind: 'assign'; readonly target: Operand; readonly op: string; readonly value: Expr }
        | { readonly kind: 'pragma'; readonly text: string }
      ));

/**
 * A gate applied to single qubits of registers, with constant parameters: what the fast
 * path (simple-gate.ts) reads without building the general nodes.
 */
export interface SimpleGateCall {
  readonly kind: 'simpleGate';
  readonly name: string;
  readonly params: readonly number[];
  /** Whether a parameter used `pi` (a program may shadow it with a variable). */
  readonly usesPi: boolean;
  /** Register name and index of each operand, in order. */
  readonly registers: readonly string[];
  readonly indices: readonly number[];
  readonly at: SourcePosition;
  /** Offset of the statement in the source, to parse it again the general way if needed. */
  readonly offset: number;
}

/** A parsed program: its declared version and statements. */
export interface Program {
  readonly version: 2 | 3;
  readonly declaredVersion: boolean;
  readonly statements: readonly (Statement | SimpleGateCall)[];
}

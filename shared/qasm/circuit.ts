/** The unrolled circuit the front end produces and the simulator and backends consume. */
import type { Matrix } from './matrix.ts';

/** One unitary on `targets`, applied when every qubit in `controls` is 1. */
export interface Primitive {
  readonly name: string;
  readonly targets: readonly number[];
  readonly controls: readonly number[];
  readonly matrix: Matrix;
}

/** A classical value computed at run time from measured bits (conditions of `if`). */
export type ClassicalExpr =
  /** `exact`: an integer past 2^53 in decimal digits, compared exactly with wide registers. */
  | { readonly kind: 'const'; readonly value: number; readonly exact?: string }
  /** The unsigned integer whose bit j is clbit `bits[j]`. */
  | { readonly kind: 'bits'; readonly bits: readonly number[] }
  | { readonly kind: 'unary'; readonly op: string; readonly operand: ClassicalExpr }
  | { readonly kind: 'binary'; readonly op: string; readonly left: ClassicalExpr; readonly right: ClassicalExpr };

/** Operations in program order. */
export type Operation =
  | {
      readonly kind: 'gate';
      /** The gate as written (a user gate keeps its own name). */
      readonly name: string;
      readonly params: readonly number[];
      /** Every qubit the gate touches, controls first. */
      readonly qubits: readonly number[];
      /** What the simulator applies, in order. */
      readonly parts: readonly Primitive[];
      /** Set for a standard gate without modifiers: its name and parameters say everything it does. */
      readonly standard?: boolean;
    }
  /** `clbit` is -1 when the result is discarded (`measure q;`). */
  | { readonly kind: 'measure'; readonly qubit: number; readonly clbit: number }
  | { readonly kind: 'reset'; readonly qubit: number }
  | { readonly kind: 'barrier'; readonly qubits: readonly number[] }
  | {
      readonly kind: 'if';
      readonly condition: ClassicalExpr;
      readonly then: readonly Operation[];
      readonly otherwise: readonly Operation[];
    };

/** A named run of classical bits; counts print registers last-declared first, as Qiskit does. */
export interface ClassicalRegister {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

/** A whole circuit after parsing and unrolling. */
export interface Circuit {
  readonly format: 'qasm2' | 'qasm3';
  readonly numQubits: number;
  readonly numClbits: number;
  readonly classicalRegisters: readonly ClassicalRegister[];
  readonly operations: readonly Operation[];
  /** `#pragma` lines, kept for backends that understand them. */
  readonly pragmas: readonly string[];
  /** Primitive gates after unrolling, the figure the gate limit applies to. */
  readonly primitiveCount: number;
}

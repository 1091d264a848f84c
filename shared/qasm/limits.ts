/**
 * The front end's resource limits, apart from the front end: configuration reads and
 * checks them without loading the parser and elaborator.
 */

/** Resource limits of the front end; every one is explicit and configurable. */
export interface CircuitLimits {
  /** Largest program, in bytes of UTF-8. */
  readonly maxBytes: number;
  readonly maxQubits: number;
  /** Classical bits: each shot's outcome is a string this long. */
  readonly maxClbits: number;
  /** Primitive gates after unrolling loops, definitions and modifiers. */
  readonly maxGates: number;
  /**
   * Measurements, resets, barriers and conditionals after unrolling, each counted once per
   * qubit it touches (a barrier over every qubit costs as many): what gates are to maxGates.
   */
  readonly maxOperations: number;
  /** Loop iterations over the whole program. */
  readonly maxLoopIterations: number;
  /** Deepest nesting of blocks, expressions and gate definitions. */
  readonly maxNesting: number;
}

/** Limits used when a caller does not set its own. */
export const DEFAULT_LIMITS: CircuitLimits = {
  maxBytes: 8 * 1024 * 1024,
  maxQubits: 1024,
  maxClbits: 4096,
  // Ten times the largest QASMBench medium circuit; unrolling a million gates takes about a second.
  maxGates: 1_000_000,
  maxOperations: 1_000_000,
  maxLoopIterations: 1_000_000,
  maxNesting: 64,
};

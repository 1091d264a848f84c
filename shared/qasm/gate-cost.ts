/**
 * An upper bound on the primitives one application of a gate definition unrolls to, worked out
 * when the gate is defined, so a definition that would unroll past the gate limit is refused
 * before any of it is expanded (a few hundred bytes of doubling definitions reach 2^60 gates).
 */
import type { Expr, Modifier, Statement } from './ast.ts';

/** The bound for a body, or undefined when it depends on values known only at a call (a `pow(k)` of a parameter, a loop). */
export function definitionCost(
  body: readonly Statement[],
  costOfGate: (name: string) => number | undefined,
): number | undefined {
  let total = 0;
  for (const statement of body) {
    if (statement.kind === 'for') return undefined;
    if (statement.kind !== 'gateCall') continue;
    let cost = statement.name === 'gphase' ? 1 : costOfGate(statement.name);
    if (cost === undefined) return undefined;
    // Modifiers apply innermost first: pow repeats what it wraps, negctrl adds two X per control.
    for (let m = statement.modifiers.length - 1; m >= 0; m--) {
      const modifier = statement.modifiers[m] as Modifier;
      const arg = modifier.arg === undefined ? 1 : literal(modifier.arg);
      if (arg === undefined) return undefined;
      if (modifier.kind === 'pow') cost *= Math.max(1, Math.ceil(Math.abs(arg)));
      else if (modifier.kind === 'negctrl') cost += 2 * arg;
    }
    total += cost;
  }
  return total;
}

function literal(expr: Expr): number | undefined {
  if (expr.kind === 'number') return expr.value;
  if (expr.kind === 'unary' && expr.op === '-') {
    const value = literal(expr.operand);
    return value === undefined ? undefined : -value;
  }
  return undefined;
}

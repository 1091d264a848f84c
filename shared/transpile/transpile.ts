/**
 * Transpilation for devices that run only their own instruction set (IBM systems, and any
 * QiskitBackend with connectivity and basis gates): the circuit is decomposed into
 * one-qubit unitaries and CNOTs (gate-translation.ts), laid out and routed onto the
 * coupling map (routing.ts), each CNOT and SWAP written in the device's two-qubit gate
 * (cz, ecr or cx, in a direction it runs), and each run of one-qubit gates merged into
 * rz/sx/x (one-qubit.ts), or rz/rx where the device offers rx; where it offers rzz, a ZZ
 * rotation (CNOT, rz, CNOT) stays one rzz. From level 1 on, CNOT pairs and two-qubit basis
 * gates that cancel are removed. Measurements read the physical qubit where each logical qubit ends,
 * into the user's own classical bits, so counts come back in the user's order.
 */
import { GateTranslator } from '../backends/gate-translation.ts';
import { type MeasurementLayout, measurementLayout } from '../backends/measurement-layout.ts';
import { InvalidInputError } from '../errors.ts';
import type { Circuit, Operation } from '../qasm/circuit.ts';
import { identity, type Matrix, multiply } from '../qasm/matrix.ts';
import { type OneQubitGate, wrapAngle, zsx } from './one-qubit.ts';
import { layoutAndRoute, type RoutingGate } from './routing.ts';
import type { TranspileTarget } from './target.ts';

/** A gate of the transpiled circuit, on physical qubits. */
export type BasisGate =
  | OneQubitGate
  | { readonly name: 'cz' | 'ecr' | 'cx'; readonly qubits: readonly [number, number] }
  | { readonly name: 'rzz'; readonly qubits: readonly [number, number]; readonly angle: number };

export interface TranspileOptions {
  /** 0: trivial layout, no cancellation; 1 (default) to 3: more layout trials and refinements. */
  readonly optimizationLevel?: number;
  /** Seed of the layout search (default 0): the same seed always gives the same circuit. */
  readonly seed?: number;
}

/** A circuit in a device's instruction set. */
export interface Transpiled {
  /** OpenQASM 3 on physical qubits ($n), measuring into the circuit's own registers. */
  readonly qasm: string;
  readonly gates: readonly BasisGate[];
  /** Physical qubit of each of the circuit's qubits, before the first gate and after the last. */
  readonly layout: { readonly initial: readonly number[]; readonly final: readonly number[] };
  /** The circuit's classical bits and the physical qubit measured into each. */
  readonly measurements: MeasurementLayout;
  readonly twoQubitGates: number;
  readonly swaps: number;
  readonly depth: number;
}

/** ECR as Qiskit defines it (rzx(π/4)·x·rzx(-π/4)), since stdgates.inc lacks it. */
const ECR_DEFINITION =
  'gate ecr a, b { h b; cx a, b; rz(pi/4) b; cx a, b; h b; x a; h b; cx a, b; rz(-pi/4) b; cx a, b; h b; }';

/** A step before translation into the basis: a one-qubit unitary or a CNOT, on physical qubits. */
type Step = { readonly kind: 'u'; readonly qubit: number; readonly matrix: Matrix } | TwoQubitStep;
type TwoQubitStep =
  | { readonly kind: 'cx' | 'cz' | 'ecr'; readonly qubits: readonly [number, number] }
  | { readonly kind: 'rzz'; readonly qubits: readonly [number, number]; readonly angle: number };

const S2 = Math.SQRT1_2;
const H: Matrix = Float64Array.of(S2, 0, S2, 0, S2, 0, -S2, 0);
const X: Matrix = Float64Array.of(0, 0, 1, 0, 1, 0, 0, 0);
const SX: Matrix = Float64Array.of(0.5, 0.5, 0.5, -0.5, 0.5, -0.5, 0.5, 0.5);
const rz = (angle: number): Matrix =>
  Float64Array.of(Math.cos(angle / 2), -Math.sin(angle / 2), 0, 0, 0, 0, Math.cos(angle / 2), Math.sin(angle / 2));
const rx = (angle: number): Matrix =>
  Float64Array.of(Math.cos(angle / 2), 0, 0, -Math.sin(angle / 2), 0, -Math.sin(angle / 2), Math.cos(angle / 2), 0);
const ry = (angle: number): Matrix =>
  Float64Array.of(Math.cos(angle / 2), 0, -Math.sin(angle / 2), 0, Math.sin(angle / 2), 0, Math.cos(angle / 2), 0);

/** The circuit's gates as one-qubit unitaries and CNOTs on its own (logical) qubits. */
function logicalSteps(circuit: Circuit): Step[] {
  const translator = new GateTranslator(new Set(['rz', 'ry', 'cnot']));
  const visit = (operations: readonly Operation[]) => {
    for (const op of operations) {
      if (op.kind === 'if') {
        throw new InvalidInputError('spec.circuit', 'classical control is not run by the sampler');
      }
      if (op.kind !== 'gate') continue;
      for (const part of op.parts) translator.add(part, `gate ${op.name} on qubits ${op.qubits.join(', ')}`);
    }
  };
  visit(circuit.operations);
  return translator.gates.map((g): Step => {
    if (g.name === 'cnot') return { kind: 'cx', qubits: [g.qubits[0] as number, g.qubits[1] as number] };
    const angle = g.params[0] as number;
    return { kind: 'u', qubit: g.qubits[0] as number, matrix: g.name === 'rz' ? rz(angle) : ry(angle) };
  });
}

/**
 * CNOT · (a diagonal one-qubit gate on the target) · CNOT on the same pair, nothing else on
 * those qubits between them, is a ZZ rotation times a phase: one rzz where the device has it.
 */
function zzRotations(steps: readonly Step[]): Step[] {
  const out: Step[] = [];
  for (let i = 0; i < steps.length; i++) {
    const [first, middle, last] = [steps[i], steps[i + 1], steps[i + 2]] as [Step, Step | undefined, Step | undefined];
    const offDiagonal = (m: Matrix) => Math.hypot(m[2] as number, m[3] as number, m[4] as number, m[5] as number);
    if (
      first.kind === 'cx' &&
      middle?.kind === 'u' &&
      middle.qubit === first.qubits[1] &&
      offDiagonal(middle.matrix) < 1e-12 &&
      last?.kind === 'cx' &&
      last.qubits[0] === first.qubits[0] &&
      last.qubits[1] === first.qubits[1]
    ) {
      // diag(d0, d1) = d0·diag(1, e^{iθ}) and CX·(I ⊗ Rz(θ))·CX = Rzz(θ): θ = arg(d1 / d0).
      const m = middle.matrix;
      const angle = Math.atan2(m[7] as number, m[6] as number) - Math.atan2(m[1] as number, m[0] as number);
      out.push({ kind: 'rzz', qubits: first.qubits, angle: wrapAngle(angle) });
      i += 2;
      continue;
    }
    out.push(first);
  }
  return out;
}

/** Removes two-qubit gates that meet their own inverse with nothing between them on either qubit. */
function cancelPairs(steps: readonly Step[], selfInverse: (a: TwoQubitStep, b: TwoQubitStep) => boolean): Step[] {
  const kept: (Step | undefined)[] = [];
  const lastOn = new Map<number, number>();
  for (const step of steps) {
    if (step.kind === 'u') {
      lastOn.set(step.qubit, kept.length);
      kept.push(step);
      continue;
    }
    const [a, b] = step.qubits;
    const before = lastOn.get(a);
    const previous = before === undefined ? undefined : kept[before];
    if (
      before !== undefined &&
      before === lastOn.get(b) &&
      previous &&
      previous.kind !== 'u' &&
      selfInverse(previous, step)
    ) {
      kept[before] = undefined;
      // The qubits' last operations are now whatever came before the removed gate.
      lastOn.delete(a);
      lastOn.delete(b);
      for (let i = before - 1; i >= 0 && (!lastOn.has(a) || !lastOn.has(b)); i--) {
        const s = kept[i];
        if (!s) continue;
        const qubits = s.kind === 'u' ? [s.qubit] : s.qubits;
        for (const q of qubits) if ((q === a || q === b) && !lastOn.has(q)) lastOn.set(q, i);
      }
      continue;
    }
    lastOn.set(a, kept.length);
    lastOn.set(b, kept.length);
    kept.push(step);
  }
  return kept.filter((s): s is Step => s !== undefined);
}

// rzz is no inverse of itself.
const sameCx = (x: TwoQubitStep, y: TwoQubitStep) =>
  x.kind === y.kind && x.kind !== 'rzz' && x.qubits[0] === y.qubits[0] && x.qubits[1] === y.qubits[1];
// cz is symmetric; ecr and cx cancel only in the same direction.
const sameBasisGate = (x: TwoQubitStep, y: TwoQubitStep) =>
  sameCx(x, y) || (x.kind === 'cz' && y.kind === 'cz' && x.qubits[0] === y.qubits[1] && x.qubits[1] === y.qubits[0]);

/** A CNOT written in the target's two-qubit gate, in a direction the device runs. */
function translateCx(c: number, t: number, target: TranspileTarget, out: Step[]): void {
  const u = (qubit: number, matrix: Matrix) => out.push({ kind: 'u', qubit, matrix });
  switch (target.twoQubitGate) {
    case 'cz':
      u(t, H);
      out.push({ kind: 'cz', qubits: [c, t] });
      u(t, H);
      return;
    case 'cx':
    case 'ecr': {
      if (!target.native(c, t)) {
        // Reverse it: H⊗H · CX(t, c) · H⊗H = CX(c, t).
        if (!target.native(t, c)) throw new Error(`qubits ${c} and ${t} are not coupled on ${target.name}`);
        u(c, H);
        u(t, H);
        translateCx(t, c, target, out);
        u(c, H);
        u(t, H);
        return;
      }
      if (target.twoQubitGate === 'cx') {
        out.push({ kind: 'cx', qubits: [c, t] });
        return;
      }
      // CX = e^{iπ/4} (Rz(π/2) ⊗ Rx(π/2)) · ECR · (X ⊗ I): x on the control, ecr, then rz(π/2) and sx.
      u(c, X);
      out.push({ kind: 'ecr', qubits: [c, t] });
      u(c, rz(Math.PI / 2));
      u(t, SX);
    }
  }
}

/** Merges each run of one-qubit unitaries on a qubit into its rz/sx/x gates. */
function mergeOneQubitRuns(steps: readonly Step[], basis: ReadonlySet<string>): BasisGate[] {
  const pending = new Map<number, Matrix>();
  const out: BasisGate[] = [];
  const flush = (q: number) => {
    const m = pending.get(q);
    if (!m) return;
    pending.delete(q);
    out.push(...zsx(m, q, basis));
  };
  for (const step of steps) {
    if (step.kind === 'u') {
      pending.set(step.qubit, multiply(step.matrix, pending.get(step.qubit) ?? identity(2)));
      continue;
    }
    for (const q of step.qubits) flush(q);
    out.push(
      step.kind === 'rzz'
        ? { name: 'rzz', qubits: step.qubits, angle: step.angle }
        : { name: step.kind, qubits: step.qubits },
    );
  }
  for (const q of [...pending.keys()].sort((a, b) => a - b)) flush(q);
  return out;
}

/** Back from basis gates to steps, so cancellation can run again after merging. */
function toSteps(gates: readonly BasisGate[]): Step[] {
  return gates.map((g): Step => {
    if (g.name === 'rzz') return { kind: 'rzz', qubits: g.qubits, angle: g.angle };
    if ('qubits' in g) return { kind: g.name, qubits: g.qubits };
    const matrix =
      g.name === 'rz' ? rz(g.angle as number) : g.name === 'rx' ? rx(g.angle as number) : g.name === 'sx' ? SX : X;
    return { kind: 'u', qubit: g.qubit, matrix };
  });
}

/** Transpiles a circuit with terminal measurements for a target. */
export function transpile(circuit: Circuit, target: TranspileTarget, options: TranspileOptions = {}): Transpiled {
  const level = options.optimizationLevel ?? 1;
  if (circuit.numQubits > target.qubits) {
    throw new InvalidInputError(
      'spec.circuit',
      `uses ${circuit.numQubits} qubits; ${target.name} has ${target.qubits}`,
    );
  }
  const measured = measurementLayout(circuit, target.name);
  const decomposed = logicalSteps(circuit);
  const logical = target.basis.has('rzz') ? zzRotations(decomposed) : decomposed;
  const routingGates: RoutingGate[] = logical.map((s) => ({ qubits: s.kind === 'u' ? [s.qubit] : s.qubits }));
  const routing = layoutAndRoute(routingGates, circuit.numQubits, target, level, options.seed ?? 0);

  let physical: Step[] = [];
  for (const step of routing.steps) {
    if (step.kind === 'swap') {
      for (const [c, t] of [
        [step.a, step.b],
        [step.b, step.a],
        [step.a, step.b],
      ] as const) {
        physical.push({ kind: 'cx', qubits: [c, t] });
      }
      continue;
    }
    const s = logical[step.index] as Step;
    const [p, p2] = step.physical as [number, number];
    if (s.kind === 'u') physical.push({ kind: 'u', qubit: p, matrix: s.matrix });
    else if (s.kind === 'rzz') physical.push({ kind: 'rzz', qubits: [p, p2], angle: s.angle });
    else physical.push({ kind: 'cx', qubits: [p, p2] });
  }
  if (level >= 1) physical = cancelPairs(physical, sameCx);

  const translated: Step[] = [];
  for (const step of physical) {
    if (step.kind === 'cx') translateCx(step.qubits[0], step.qubits[1], target, translated);
    else translated.push(step);
  }
  let gates = mergeOneQubitRuns(translated, target.basis);
  for (let round = 0; level >= 1 && round < 4; round++) {
    const before = gates.length;
    gates = mergeOneQubitRuns(cancelPairs(toSteps(gates), sameBasisGate), target.basis);
    if (gates.length === before) break;
  }

  const final = [...routing.finalLayout];
  const measurements: MeasurementLayout = {
    registers: measured.registers,
    clbitQubits: measured.clbitQubits.map((q) => (q < 0 ? -1 : (final[q] as number))),
  };
  return {
    qasm: toQasm(gates, measurements),
    gates,
    layout: { initial: [...routing.initialLayout], final },
    measurements,
    twoQubitGates: gates.filter((g) => 'qubits' in g).length,
    swaps: routing.swaps,
    depth: depthOf(gates, measurements),
  };
}

/** Angles in full precision, so the device runs the circuit that was written. */
const number = (x: number) => (Object.is(x, -0) ? '0' : String(x));

function toQasm(gates: readonly BasisGate[], measurements: MeasurementLayout): string {
  const usesEcr = gates.some((g) => g.name === 'ecr');
  const lines = ['OPENQASM 3.0;', 'include "stdgates.inc";', ...(usesEcr ? [ECR_DEFINITION] : [])];
  for (const register of measurements.registers) lines.push(`bit[${register.size}] ${register.name};`);
  for (const g of gates) {
    if (g.name === 'rzz') lines.push(`rzz(${number(g.angle)}) $${g.qubits[0]}, $${g.qubits[1]};`);
    else if ('qubits' in g) lines.push(`${g.name} $${g.qubits[0]}, $${g.qubits[1]};`);
    else if (g.name === 'rz' || g.name === 'rx') lines.push(`${g.name}(${number(g.angle as number)}) $${g.qubit};`);
    else lines.push(`${g.name} $${g.qubit};`);
  }
  measurements.clbitQubits.forEach((q, bit) => {
    if (q < 0) return;
    const register = measurements.registers.find((r) => bit >= r.offset && bit < r.offset + r.size);
    if (register) lines.push(`${register.name}[${bit - register.offset}] = measure $${q};`);
  });
  return `${lines.join('\n')}\n`;
}

/** Layers of the circuit, measurements included, as Qiskit counts depth. */
function depthOf(gates: readonly BasisGate[], measurements: MeasurementLayout): number {
  const level = new Map<number, number>();
  let depth = 0;
  const place = (qubits: readonly number[]) => {
    const at = Math.max(...qubits.map((q) => level.get(q) ?? 0)) + 1;
    for (const q of qubits) level.set(q, at);
    depth = Math.max(depth, at);
  };
  for (const g of gates) place('qubits' in g ? g.qubits : [g.qubit]);
  for (const q of measurements.clbitQubits) if (q >= 0) place([q]);
  return depth;
}

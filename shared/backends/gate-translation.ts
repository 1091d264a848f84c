/**
 * Rewrites the simulator's primitives (any unitary on its targets, under any controls)
 * into the gates a provider device names, decomposing what the device lacks. Works from
 * the matrices, so user gates and inv/pow/ctrl modifiers need no special cases.
 *
 * Gate names and conventions are Amazon Braket's OpenQASM 3 builtins (h, x, y, z, s, si,
 * t, ti, v, vi, rx, ry, rz, phaseshift, cnot, cy, cz, cphaseshift, swap, iswap, ccnot,
 * cswap, xx, yy, zz). Every gate-model device takes rz, ry and cnot, which is enough for
 * anything this module handles; named gates are used when the device has them.
 * Decompositions hold up to a global phase, which no measurement can see.
 */
import { InvalidInputError } from '../errors.ts';
import type { Primitive } from '../qasm/circuit.ts';
import {
  adjoint,
  argument,
  type Complex,
  determinant2,
  entry,
  euler,
  fromRows,
  magnitude,
  type Matrix,
  nearlyEqual,
  phaseBetween,
  rotatePhase,
  sqrtUnitary2,
  trace2,
} from '../qasm/matrix.ts';

/** One gate of the device's language. */
export interface DeviceGate {
  readonly name: string;
  readonly params: readonly number[];
  readonly qubits: readonly number[];
}

/** The gates every translation may fall back on. */
export const REQUIRED_GATES = ['rz', 'ry', 'cnot'] as const;

/** Most controls decomposed (the recursion doubles the gates per control). */
export const MAX_CONTROLS = 6;

const EPS = 1e-9;

const S2 = Math.SQRT1_2;
/** A 2x2 matrix from its entries, row-major. */
const m2 = (a: Complex, b: Complex, c: Complex, d: Complex): Matrix =>
  fromRows([
    [a, b],
    [c, d],
  ]);
/** Fixed one-qubit gates Braket names, as matrices. */
const NAMED_ONE_QUBIT: readonly (readonly [string, Matrix])[] = [
  ['x', m2([0, 0], [1, 0], [1, 0], [0, 0])],
  ['y', m2([0, 0], [0, -1], [0, 1], [0, 0])],
  ['z', m2([1, 0], [0, 0], [0, 0], [-1, 0])],
  ['h', m2([S2, 0], [S2, 0], [S2, 0], [-S2, 0])],
  ['s', m2([1, 0], [0, 0], [0, 0], [0, 1])],
  ['si', m2([1, 0], [0, 0], [0, 0], [0, -1])],
  ['t', m2([1, 0], [0, 0], [0, 0], [S2, S2])],
  ['ti', m2([1, 0], [0, 0], [0, 0], [S2, -S2])],
  ['v', m2([0.5, 0.5], [0.5, -0.5], [0.5, -0.5], [0.5, 0.5])],
  ['vi', m2([0.5, -0.5], [0.5, 0.5], [0.5, 0.5], [0.5, -0.5])],
];
const namedOneQubit = (name: string): Matrix =>
  (NAMED_ONE_QUBIT.find(([n]) => n === name) as readonly [string, Matrix])[1];
const X = namedOneQubit('x');

/**
 * When U = e^{iα}·R with R a reflection (trace 0: R = n·σ, as Z, Y, H), the W = m·σ, m
 * halfway between x and n, with W·X·W = R, and α; a controlled U then needs one CNOT.
 */
function conjugateOfX(u: Matrix): { w: Matrix; alpha: number } | undefined {
  if (magnitude(trace2(u)) > EPS) return undefined;
  // det U = -e^{2iα}.
  const det = determinant2(u);
  const alpha = argument([-det[0], -det[1]]) / 2;
  const r00 = rotatePhase(entry(u, 0), alpha);
  const r10 = rotatePhase(entry(u, 2), alpha);
  // R = [[nz, nx - i·ny], [nx + i·ny, -nz]], real n when R is Hermitian.
  const n = [r10[0], r10[1], r00[0]] as const;
  if (Math.abs(r00[1]) > EPS || Math.abs(Math.hypot(...n) - 1) > 1e-9) return undefined;
  const half = [1 + n[0], n[1], n[2]] as const;
  const length = Math.hypot(...half);
  // n = -x: Z·X·Z = -X.
  const [mx, my, mz] = (length < 1e-6 ? [0, 0, 1] : half.map((v) => v / length)) as [number, number, number];
  return { w: m2([mz, 0], [mx, -my], [mx, my], [-mz, 0]), alpha };
}

/** Collects device gates for one circuit and one device's gate set. */
export class GateTranslator {
  readonly gates: DeviceGate[] = [];

  constructor(private readonly available: ReadonlySet<string>) {
    const missing = REQUIRED_GATES.filter((g) => !available.has(g));
    if (missing.length > 0) {
      throw new InvalidInputError('backend', `the device lacks ${missing.join(', ')}, which translation needs`);
    }
  }

  private emit(name: string, params: readonly number[], ...qubits: number[]): void {
    this.gates.push({ name, params, qubits });
  }

  /** Appends the gates of one primitive; `where` names it in errors. */
  add(p: Primitive, where: string): void {
    const targets = p.targets;
    const controls = p.controls;
    if (targets.length === 0) {
      // A global phase is unobservable; under controls it is a phase on the last control.
      if (controls.length === 0) return;
      const angle = Math.atan2(p.matrix[1] as number, p.matrix[0] as number);
      const last = controls[controls.length - 1] as number;
      const phase = m2([1, 0], [0, 0], [0, 0], [Math.cos(angle), Math.sin(angle)]);
      if (controls.length === 1) this.oneQubit(phase, last);
      else this.controlled(phase, controls.slice(0, -1), last, where);
      return;
    }
    if (targets.length === 1) {
      const u = p.matrix;
      const t = targets[0] as number;
      if (controls.length === 0) this.oneQubit(u, t);
      else this.controlled(u, controls, t, where);
      return;
    }
    if (targets.length === 2) {
      this.twoQubit(p.matrix, controls, targets[0] as number, targets[1] as number, where);
      return;
    }
    throw new InvalidInputError(where, `a ${targets.length}-qubit unitary cannot be translated for this device`);
  }

  private phaseGate(lambda: number, q: number): void {
    if (Math.abs(lambda) < EPS) return;
    // Alone on a qubit, a phase gate and rz differ by a global phase.
    this.emit(this.available.has('phaseshift') ? 'phaseshift' : 'rz', [lambda], q);
  }

  private rotation(name: 'rz' | 'ry', angle: number, q: number): void {
    if (Math.abs(angle) > EPS) this.emit(name, [angle], q);
  }

  private oneQubit(u: Matrix, q: number): void {
    for (const [name, v] of NAMED_ONE_QUBIT) {
      if (this.available.has(name) && phaseBetween(u, v)) {
        this.emit(name, [], q);
        return;
      }
    }
    const e = euler(u);
    if (Math.abs(e.theta) < EPS) {
      this.phaseGate(e.phi + e.lambda, q);
      return;
    }
    this.rotation('rz', e.lambda, q);
    this.rotation('ry', e.theta, q);
    this.rotation('rz', e.phi, q);
  }

  private cnot(c: number, t: number): void {
    this.emit('cnot', [], c, t);
  }

  private controlled(u: Matrix, controls: readonly number[], t: number, where: string): void {
    if (controls.length > MAX_CONTROLS) {
      throw new InvalidInputError(where, `a gate with ${controls.length} controls is more than ${MAX_CONTROLS} can be`);
    }
    if (controls.length === 1) {
      this.singlyControlled(u, controls[0] as number, t);
      return;
    }
    if (controls.length === 2 && nearlyEqual(u, X)) {
      if (this.available.has('ccnot')) this.emit('ccnot', [], controls[0] as number, controls[1] as number, t);
      else this.toffoli(controls[0] as number, controls[1] as number, t);
      return;
    }
    // C^n(U) = C_cn(V) · C^{n-1}X(→cn) · C_cn(V†) · C^{n-1}X(→cn) · C^{n-1}(V) with V² = U
    // (Barenco et al. 1995, lemma 7.1).
    const v = sqrtUnitary2(u);
    const rest = controls.slice(0, -1);
    const last = controls[controls.length - 1] as number;
    this.singlyControlled(v, last, t);
    this.controlled(X, rest, last, where);
    this.singlyControlled(adjoint(v), last, t);
    this.controlled(X, rest, last, where);
    this.controlled(v, rest, t, where);
  }

  /** The Toffoli in six CNOTs, with h, t and t† (Nielsen and Chuang, figure 4.9). */
  private toffoli(a: number, b: number, t: number): void {
    const [h, tGate, tDagger] = [namedOneQubit('h'), namedOneQubit('t'), namedOneQubit('ti')];
    this.oneQubit(h, t);
    this.cnot(b, t);
    this.oneQubit(tDagger, t);
    this.cnot(a, t);
    this.oneQubit(tGate, t);
    this.cnot(b, t);
    this.oneQubit(tDagger, t);
    this.cnot(a, t);
    this.oneQubit(tGate, b);
    this.oneQubit(tGate, t);
    this.oneQubit(h, t);
    this.cnot(a, b);
    this.oneQubit(tGate, a);
    this.oneQubit(tDagger, b);
    this.cnot(a, b);
  }

  private singlyControlled(u: Matrix, c: number, t: number): void {
    if (nearlyEqual(u, X)) {
      this.cnot(c, t);
      return;
    }
    for (const [name, base] of [
      ['cy', 'y'],
      ['cz', 'z'],
    ] as const) {
      if (this.available.has(name) && nearlyEqual(u, namedOneQubit(base))) {
        this.emit(name, [], c, t);
        return;
      }
    }
    const [u00, u01, u10, u11] = [entry(u, 0), entry(u, 1), entry(u, 2), entry(u, 3)];
    if (magnitude(u01) < EPS && magnitude(u10) < EPS && magnitude([u00[0] - 1, u00[1]]) < EPS) {
      const lambda = argument(u11);
      if (this.available.has('cphaseshift')) {
        this.emit('cphaseshift', [lambda], c, t);
        return;
      }
    }
    const conjugate = conjugateOfX(u);
    if (conjugate) {
      // U = e^{iα}·W·X·W with W Hermitian: C(U) = phase(α) on the control, W·CX·W on the target.
      this.oneQubit(conjugate.w, t);
      this.cnot(c, t);
      this.oneQubit(conjugate.w, t);
      this.phaseGate(conjugate.alpha, c);
      return;
    }
    // C(U) = phase(α) on the control, and A·X·B·X·C on the target with A·B·C = I.
    const { theta, phi, lambda, alpha } = euler(u);
    this.rotation('rz', (lambda - phi) / 2, t);
    this.cnot(c, t);
    this.rotation('rz', -(phi + lambda) / 2, t);
    this.rotation('ry', -theta / 2, t);
    this.cnot(c, t);
    this.rotation('ry', theta / 2, t);
    this.rotation('rz', phi, t);
    this.phaseGate(alpha, c);
  }

  private twoQubit(m: Matrix, controls: readonly number[], a: number, b: number, where: string): void {
    const family = twoQubitFamily(m);
    if (family === undefined) {
      throw new InvalidInputError(where, 'this two-qubit unitary has no translation for the device');
    }
    if (controls.length > 0) {
      if (family.name !== 'swap') {
        throw new InvalidInputError(where, `a controlled ${family.name} cannot be translated for this device`);
      }
      if (controls.length === 1 && this.available.has('cswap')) {
        this.emit('cswap', [], controls[0] as number, a, b);
        return;
      }
      // Fredkin: CNOT(b→a), Toffoli(controls, a → b), CNOT(b→a).
      this.cnot(b, a);
      this.controlled(X, [...controls, a], b, where);
      this.cnot(b, a);
      return;
    }
    if (this.available.has(family.braket)) {
      this.emit(family.braket, family.angle === undefined ? [] : [family.angle], a, b);
      return;
    }
    switch (family.name) {
      case 'swap':
        this.cnot(a, b);
        this.cnot(b, a);
        this.cnot(a, b);
        return;
      case 'iswap':
        // iSWAP = (S⊗S)·(H on a)·CNOT(a→b)·CNOT(b→a)·(H on b), applied right to left.
        this.oneQubit(H_GATE, b);
        this.cnot(b, a);
        this.cnot(a, b);
        this.oneQubit(H_GATE, a);
        this.oneQubit(S_GATE, a);
        this.oneQubit(S_GATE, b);
        return;
      case 'rzz':
      case 'rxx':
      case 'ryy': {
        const angle = family.angle as number;
        // Change basis so the Pauli product is Z⊗Z, rotate, change back.
        const into = family.name === 'rxx' ? H_GATE : family.name === 'ryy' ? RX_HALF_PI : undefined;
        if (into) {
          this.oneQubit(into, a);
          this.oneQubit(into, b);
        }
        this.cnot(a, b);
        this.rotation('rz', angle, b);
        this.cnot(a, b);
        if (into) {
          const back = adjoint(into);
          this.oneQubit(back, a);
          this.oneQubit(back, b);
        }
        return;
      }
    }
  }
}

const H_GATE = namedOneQubit('h');
const S_GATE = namedOneQubit('s');
/** Rx(π/2): maps Y to Z under conjugation. */
const RX_HALF_PI = m2([S2, 0], [0, -S2], [0, -S2], [S2, 0]);

interface TwoQubitFamily {
  readonly name: 'swap' | 'iswap' | 'rxx' | 'ryy' | 'rzz';
  /** Braket's name for it. */
  readonly braket: string;
  readonly angle?: number;
}

/** Which symmetric two-qubit gate a 4x4 matrix is: SWAP, iSWAP, or exp(-iθ/2·P⊗P). */
function twoQubitFamily(m: Matrix): TwoQubitFamily | undefined {
  const e = (r: number, c: number): Complex => entry(m, 4 * r + c);
  const near = (x: Complex, y: Complex) => magnitude([x[0] - y[0], x[1] - y[1]]) < EPS;
  const matches = (expected: (r: number, c: number) => Complex) => {
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) if (!near(e(r, c), expected(r, c))) return false;
    return true;
  };
  const swapLike =
    (offDiagonal: Complex) =>
    (r: number, c: number): Complex =>
      (r === 0 && c === 0) || (r === 3 && c === 3)
        ? [1, 0]
        : (r === 1 && c === 2) || (r === 2 && c === 1)
          ? offDiagonal
          : [0, 0];
  if (matches(swapLike([1, 0]))) return { name: 'swap', braket: 'swap' };
  if (matches(swapLike([0, 1]))) return { name: 'iswap', braket: 'iswap' };
  // exp(-iθ/2·P⊗P) = cos(θ/2)·I − i·sin(θ/2)·P⊗P; the diagonal gives cos, one entry sin.
  const pauliProducts: readonly (readonly [TwoQubitFamily['name'], string, (r: number, c: number) => Complex])[] = [
    ['rzz', 'zz', (r, c) => (r === c ? [r === 0 || r === 3 ? 1 : -1, 0] : [0, 0])],
    ['rxx', 'xx', (r, c) => (r + c === 3 ? [1, 0] : [0, 0])],
    ['ryy', 'yy', (r, c) => (r + c === 3 ? [r === 0 || r === 3 ? -1 : 1, 0] : [0, 0])],
  ];
  for (const [name, braket, product] of pauliProducts) {
    // Pick the entry where P⊗P is nonzero off the identity to read sin(θ/2).
    const [r, c] = name === 'rzz' ? [0, 0] : [0, 3];
    const cos = e(1, 1)[0];
    const sin = -e(r, c)[1] / product(r, c)[0];
    const angle = 2 * Math.atan2(sin, cos);
    const expected = (i: number, j: number): Complex => {
      const p = product(i, j);
      return [i === j ? Math.cos(angle / 2) : 0, -Math.sin(angle / 2) * p[0]];
    };
    if (matches(expected)) return { name, braket, angle };
  }
  return undefined;
}

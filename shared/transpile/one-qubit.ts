/**
 * One-qubit gates in IBM's basis: a run of one-qubit gates on a qubit becomes one 2x2
 * unitary, written as at most rz·sx·rz·sx·rz (the ZSX form Qiskit uses), or rz·rx·rz where
 * the device offers rx (IBM's fractional gates), fewer when its rotation angle allows,
 * nothing when it is the identity up to a global phase.
 */
import { euler, type Matrix } from '../qasm/matrix.ts';

const EPS = 1e-10;

/** A basis gate on one physical qubit. */
export interface OneQubitGate {
  readonly name: 'rz' | 'sx' | 'x' | 'rx';
  readonly angle?: number;
  readonly qubit: number;
}

/** An angle in (-π, π]. */
export function wrapAngle(angle: number): number {
  const wrapped = angle - 2 * Math.PI * Math.floor((angle + Math.PI) / (2 * Math.PI));
  return wrapped <= -Math.PI + EPS ? Math.PI : wrapped;
}

const isZero = (angle: number) => Math.abs(wrapAngle(angle)) < EPS;

/** The gates, in circuit order, that apply `u` (a 2x2 unitary) to `qubit`, up to a global phase. */
export function zsx(u: Matrix, qubit: number, basis: ReadonlySet<string>): OneQubitGate[] {
  const { theta, phi, lambda } = euler(u);
  const gates: OneQubitGate[] = [];
  const rz = (angle: number) => {
    if (!isZero(angle)) gates.push({ name: 'rz', angle: wrapAngle(angle), qubit });
  };
  if (isZero(theta)) {
    rz(phi + lambda);
  } else if (Math.abs(theta - Math.PI / 2) < EPS) {
    rz(lambda - Math.PI / 2);
    gates.push({ name: 'sx', qubit });
    rz(phi + Math.PI / 2);
  } else if (Math.abs(theta - Math.PI) < EPS && basis.has('x')) {
    // U3(π, φ, λ) = X·Rz(λ - φ + π) up to a phase: one rz, then x.
    rz(lambda - phi + Math.PI);
    gates.push({ name: 'x', qubit });
  } else if (basis.has('rx')) {
    // Rz(φ)·Ry(θ)·Rz(λ) = Rz(φ + π/2)·Rx(θ)·Rz(λ - π/2).
    rz(lambda - Math.PI / 2);
    gates.push({ name: 'rx', angle: wrapAngle(theta), qubit });
    rz(phi + Math.PI / 2);
  } else {
    rz(lambda);
    gates.push({ name: 'sx', qubit });
    rz(theta + Math.PI);
    gates.push({ name: 'sx', qubit });
    rz(phi + Math.PI);
  }
  return gates;
}

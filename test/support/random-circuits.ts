/** Seeded circuits for the simulator's tests and benchmarks, as OpenQASM so every simulator can read them. */

/** A small deterministic generator (LCG), so a seed always gives the same circuit. */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const OQ3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n';

/** Layers of ry and rz on every qubit, then CNOTs on a random pairing of the qubits (the benchmark circuit). */
export function layeredRandomQasm(qubits: number, depth: number, seed = 1): string {
  const next = lcg(seed);
  const lines = [`OPENQASM 2.0;`, `include "qelib1.inc";`, `qreg q[${qubits}];`, `creg c[${qubits}];`];
  for (let layer = 0; layer < depth; layer++) {
    for (let q = 0; q < qubits; q++) {
      lines.push(
        `ry(${(next() * 2 * Math.PI).toFixed(6)}) q[${q}];`,
        `rz(${(next() * 2 * Math.PI).toFixed(6)}) q[${q}];`,
      );
    }
    const order = Array.from({ length: qubits }, (_, q) => q);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    for (let i = 0; i + 1 < order.length; i += 2) lines.push(`cx q[${order[i]}],q[${order[i + 1]}];`);
  }
  lines.push('measure q -> c;');
  return `${lines.join('\n')}\n`;
}

/** GHZ on n qubits: h, then a chain of CNOTs. */
export function ghzQasm(qubits: number): string {
  const lines = [`OPENQASM 2.0;`, `include "qelib1.inc";`, `qreg q[${qubits}];`, `creg c[${qubits}];`, 'h q[0];'];
  for (let q = 1; q < qubits; q++) lines.push(`cx q[${q - 1}],q[${q}];`);
  lines.push('measure q -> c;');
  return `${lines.join('\n')}\n`;
}

/** The QFT on n qubits applied to a non-trivial input (x on alternate qubits, then h and t on qubit 0). */
export function qftQasm(qubits: number): string {
  const lines = [`OPENQASM 2.0;`, `include "qelib1.inc";`, `qreg q[${qubits}];`, `creg c[${qubits}];`];
  for (let q = 0; q < qubits; q += 2) lines.push(`x q[${q}];`);
  lines.push('h q[0];', 't q[0];');
  for (let target = qubits - 1; target >= 0; target--) {
    lines.push(`h q[${target}];`);
    for (let control = target - 1; control >= 0; control--) {
      lines.push(`cu1(${(Math.PI / 2 ** (target - control)).toPrecision(17)}) q[${control}],q[${target}];`);
    }
  }
  for (let q = 0; q < Math.floor(qubits / 2); q++) lines.push(`swap q[${q}],q[${qubits - 1 - q}];`);
  lines.push('measure q -> c;');
  return `${lines.join('\n')}\n`;
}

// Gates of every shape the kernels specialise: dense, diagonal, phase, X, swap, controlled and multi-controlled.
const ONE = ['h', 'x', 'y', 'z', 's', 'sdg', 't', 'tdg', 'sx'];
const ONE_PARAM = ['rx', 'ry', 'rz', 'p'];
const TWO = ['cx', 'cy', 'cz', 'ch', 'swap', 'iswap'];
const TWO_PARAM = ['crx', 'cry', 'crz', 'cp', 'rxx', 'ryy', 'rzz'];

/** A seeded circuit mixing every kind of gate, modifiers and global phases, without measurement. */
export function mixedRandomQasm(qubits: number, gates: number, seed: number): string {
  const next = lcg(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)] as T;
  const distinct = (count: number) => {
    const chosen: number[] = [];
    while (chosen.length < count) {
      const q = Math.floor(next() * qubits);
      if (!chosen.includes(q)) chosen.push(q);
    }
    return chosen.map((q) => `q[${q}]`).join(', ');
  };
  const angle = () => (next() * 4 * Math.PI - 2 * Math.PI).toFixed(6);
  const lines = [OQ3, `qubit[${qubits}] q;`];
  for (let g = 0; g < gates; g++) {
    const kind = next();
    if (kind < 0.25) lines.push(`${pick(ONE)} ${distinct(1)};`);
    else if (kind < 0.4) lines.push(`${pick(ONE_PARAM)}(${angle()}) ${distinct(1)};`);
    else if (kind < 0.6) lines.push(`${pick(TWO)} ${distinct(2)};`);
    else if (kind < 0.72) lines.push(`${pick(TWO_PARAM)}(${angle()}) ${distinct(2)};`);
    else if (kind < 0.8) lines.push(`U(${angle()}, ${angle()}, ${angle()}) ${distinct(1)};`);
    else if (kind < 0.85 && qubits >= 3) lines.push(`${pick(['ccx', 'cswap'])} ${distinct(3)};`);
    else if (kind < 0.9 && qubits >= 4) {
      const [gate, arity] = pick([
        ['x', 3],
        ['h', 3],
        ['rz(0.7)', 3],
        ['swap', 4],
      ] as const);
      lines.push(`ctrl(2) @ ${gate} ${distinct(arity)};`);
    } else if (kind < 0.94 && qubits >= 2) lines.push(`negctrl @ ${pick(['x', 'ry(1.1)', 's'])} ${distinct(2)};`);
    else if (kind < 0.97) lines.push(`gphase(${angle()});`);
    else if (qubits >= 2) lines.push(`ctrl @ gphase(${angle()}) ${distinct(1)};`);
  }
  return lines.join('\n');
}

/**
 * The WebAssembly SIMD kernels, as WebAssembly text. One template serves both precisions:
 * in double precision one v128 holds one amplitude (f64x2: re, im); in single precision it
 * holds two (f32x4), the same amplitude of two neighbouring groups, so every kernel is the
 * same arithmetic on wider vectors. A complex product m·v is `R·v + I·swap(v)`, where the
 * parameter block holds each matrix entry expanded as R = (re, re, …) and I = (-im, im, …),
 * and swap exchanges re and im within each amplitude: two multiplies, two adds, no scalar
 * shuffling of real and imaginary parts.
 *
 * Addresses are bytes in the shared memory; a group's amplitudes are found as in
 * kernels.ts: `index` is the first group's basis index (zeros at the op's bits), the next
 * group is `((index | mask) + 1) & ~mask`, and control bits are ORed in. `npm run gen`
 * assembles this text into module.ts; a unit test checks the two agree.
 */

interface Lanes {
  /** Suffix of the exported names. */
  readonly suffix: 'f64' | 'f32';
  /** The vector type of the arithmetic. */
  readonly vec: 'f64x2' | 'f32x4';
  /** log2 of an amplitude's bytes: the shift from basis index to byte offset. */
  readonly shift: 4 | 3;
  /** Bytes of one diagonal entry in the parameter block. */
  readonly diagonalEntryShift: 5 | 4;
  /** The byte shuffle that exchanges re and im in every amplitude of a vector. */
  readonly swap: string;
}

const F64: Lanes = {
  suffix: 'f64',
  vec: 'f64x2',
  shift: 4,
  diagonalEntryShift: 5,
  swap: '8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7',
};
const F32: Lanes = {
  suffix: 'f32',
  vec: 'f32x4',
  shift: 3,
  diagonalEntryShift: 4,
  swap: '4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11',
};

/** R·v + I·swap(v) for the entry at byte `offset` of the parameter block `$p`. */
function product(l: Lanes, offset: number, v: string, w: string): string {
  return `(${l.vec}.add (${l.vec}.mul (v128.load offset=${offset} (local.get $p)) (local.get ${v}))
            (${l.vec}.mul (v128.load offset=${offset + 16} (local.get $p)) (local.get ${w})))`;
}

/** Sum of the products of row `r` of a d x d block with the inputs $v0… (swapped $w0…). */
function row(l: Lanes, r: number, d: number): string {
  let sum = product(l, 32 * (r * d), '$v0', '$w0');
  for (let c = 1; c < d; c++) sum = `(${l.vec}.add ${sum} ${product(l, 32 * (r * d + c), `$v${c}`, `$w${c}`)})`;
  return sum;
}

const swapped = (l: Lanes, v: string) => `(i8x16.shuffle ${l.swap} (local.get ${v}) (local.get ${v}))`;

/** The loop over `$count` groups, with `$a` the byte address of each group's base amplitude. */
function groupLoop(l: Lanes, body: string): string {
  return `
    (local.set $notmask (i32.xor (local.get $mask) (i32.const -1)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $count)))
        (local.set $a (i32.add (local.get $s) (i32.shl (i32.or (local.get $index) (local.get $ctrl)) (i32.const ${l.shift}))))
        ${body}
        (local.set $index (i32.and (i32.add (i32.or (local.get $index) (local.get $mask)) (i32.const 1)) (local.get $notmask)))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $next)))`;
}

const GROUP_PARAMS = '(param $s i32) (param $index i32) (param $count i32) (param $mask i32) (param $ctrl i32)';
const GROUP_LOCALS = '(local $notmask i32) (local $a i32)';

/** Dense blocks of 1 to 3 qubits, written out so the inputs stay in registers. */
function denseSmall(l: Lanes, k: 1 | 2 | 3): string {
  const d = 2 ** k;
  const strideParams = Array.from({ length: k }, (_, j) => `(param $s${j + 1} i32)`).join(' ');
  // Input c is at the group's base plus the strides of the bits set in c.
  const at = Array.from({ length: d }, (_, c) => {
    let addr = '(local.get $a)';
    for (let j = 0; j < k; j++) if ((c >> j) & 1) addr = `(i32.add ${addr} (local.get $s${j + 1}))`;
    return addr;
  });
  const locals = Array.from({ length: d }, (_, c) => `(local $v${c} v128) (local $w${c} v128)`).join(' ');
  const loads = at.map(
    (addr, c) => `(local.set $v${c} (v128.load ${addr})) (local.set $w${c} ${swapped(l, `$v${c}`)})`,
  );
  const stores = at.map((addr, r) => `(v128.store ${addr} ${row(l, r, d)})`);
  return `
  (func (export "dense${k}_${l.suffix}") ${GROUP_PARAMS} ${strideParams} (param $p i32)
    ${GROUP_LOCALS} ${locals}
    ${groupLoop(l, [...loads, ...stores].join('\n        '))})`;
}

/**
 * A dense block of any width: the d inputs are gathered (with their swapped copies) into
 * `$tmp`, then each output is a row of d products. `$off` holds the d byte offsets of a
 * group's amplitudes from its base.
 */
function denseAny(l: Lanes): string {
  return `
  (func (export "dense_${l.suffix}") ${GROUP_PARAMS} (param $d i32) (param $off i32) (param $p i32) (param $tmp i32)
    ${GROUP_LOCALS} (local $c i32) (local $r i32) (local $v v128) (local $acc v128) (local $m i32) (local $t i32)
    ${groupLoop(
      l,
      `(local.set $c (i32.const 0))
        (loop $gather
          (local.set $v (v128.load (i32.add (local.get $a) (i32.load (i32.add (local.get $off) (i32.shl (local.get $c) (i32.const 2)))))))
          (local.set $t (i32.add (local.get $tmp) (i32.shl (local.get $c) (i32.const 5))))
          (v128.store (local.get $t) (local.get $v))
          (v128.store offset=16 (local.get $t) ${swapped(l, '$v')})
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br_if $gather (i32.lt_u (local.get $c) (local.get $d))))
        (local.set $m (local.get $p))
        (local.set $r (i32.const 0))
        (loop $rows
          (local.set $acc (v128.const i64x2 0 0))
          (local.set $t (local.get $tmp))
          (local.set $c (i32.const 0))
          (loop $cols
            (local.set $acc (${l.vec}.add (local.get $acc)
              (${l.vec}.add (${l.vec}.mul (v128.load (local.get $m)) (v128.load (local.get $t)))
                            (${l.vec}.mul (v128.load offset=16 (local.get $m)) (v128.load offset=16 (local.get $t))))))
            (local.set $m (i32.add (local.get $m) (i32.const 32)))
            (local.set $t (i32.add (local.get $t) (i32.const 32)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br_if $cols (i32.lt_u (local.get $c) (local.get $d))))
          (v128.store (i32.add (local.get $a) (i32.load (i32.add (local.get $off) (i32.shl (local.get $r) (i32.const 2))))) (local.get $acc))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $rows (i32.lt_u (local.get $r) (local.get $d))))`,
    )})`;
}

/** diag(1, e^{iφ}) on one qubit: only the amplitude at byte offset `$offset` of each group changes. */
function phase(l: Lanes): string {
  return `
  (func (export "phase_${l.suffix}") ${GROUP_PARAMS} (param $offset i32) (param $p i32)
    ${GROUP_LOCALS} (local $v0 v128) (local $w0 v128)
    ${groupLoop(
      l,
      `(local.set $a (i32.add (local.get $a) (local.get $offset)))
        (local.set $v0 (v128.load (local.get $a)))
        (local.set $w0 ${swapped(l, '$v0')})
        (v128.store (local.get $a) ${product(l, 0, '$v0', '$w0')})`,
    )})`;
}

/** X and SWAP: exchanges the amplitudes at byte offsets `$from` and `$to` of every group. */
function exchange(l: Lanes): string {
  return `
  (func (export "exchange_${l.suffix}") ${GROUP_PARAMS} (param $from i32) (param $to i32)
    ${GROUP_LOCALS} (local $v v128)
    ${groupLoop(
      l,
      `(local.set $v (v128.load (i32.add (local.get $a) (local.get $from))))
        (v128.store (i32.add (local.get $a) (local.get $from)) (v128.load (i32.add (local.get $a) (local.get $to))))
        (v128.store (i32.add (local.get $a) (local.get $to)) (local.get $v))`,
    )})`;
}

/** Byte offset of the diagonal entry of basis index `i`: four byte-table lookups (`$t`, 4 x 256 i32). */
const entryOf = (i: string) => `(i32.or
          (i32.or (i32.load (i32.add (local.get $t) (i32.shl (i32.and ${i} (i32.const 255)) (i32.const 2))))
                  (i32.load offset=1024 (i32.add (local.get $t) (i32.shl (i32.and (i32.shr_u ${i} (i32.const 8)) (i32.const 255)) (i32.const 2)))))
          (i32.or (i32.load offset=2048 (i32.add (local.get $t) (i32.shl (i32.and (i32.shr_u ${i} (i32.const 16)) (i32.const 255)) (i32.const 2))))
                  (i32.load offset=3072 (i32.add (local.get $t) (i32.shl (i32.shr_u ${i} (i32.const 24)) (i32.const 2))))))`;

/**
 * A diagonal unitary, elementwise over basis indices [$i, $i + $n) in order (every cache line
 * used whole), skipping those where a control is 0. In single precision a vector holds the
 * amplitudes of $i and $i + 1 ($i even), whose entries differ only by the lowest byte table.
 */
function diagonal(l: Lanes): string {
  const step = l.suffix === 'f64' ? 1 : 2;
  const factors =
    l.suffix === 'f64'
      ? `(local.set $e (i32.add (local.get $p) ${entryOf('(local.get $i)')}))
        (local.set $r (v128.load (local.get $e)))
        (local.set $m (v128.load offset=16 (local.get $e)))`
      : `(local.set $e (i32.add (local.get $p) ${entryOf('(local.get $i)')}))
        (local.set $e2 (i32.add (local.get $p) ${entryOf('(i32.or (local.get $i) (i32.const 1))')}))
        (local.set $r (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (v128.load (local.get $e)) (v128.load (local.get $e2))))
        (local.set $m (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (v128.load (local.get $e)) (v128.load (local.get $e2))))`;
  return `
  (func (export "diagonal_${l.suffix}") (param $s i32) (param $i i32) (param $n i32) (param $ctrl i32) (param $t i32) (param $p i32)
    (local $end i32) (local $a i32) (local $e i32) (local $e2 i32) (local $v v128) (local $r v128) (local $m v128)
    (local.set $end (i32.add (local.get $i) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.eq (i32.and (local.get $i) (local.get $ctrl)) (local.get $ctrl))
          (then
            ${factors}
            (local.set $a (i32.add (local.get $s) (i32.shl (local.get $i) (i32.const ${l.shift}))))
            (local.set $v (v128.load (local.get $a)))
            (v128.store (local.get $a)
              (${l.vec}.add (${l.vec}.mul (local.get $r) (local.get $v)) (${l.vec}.mul (local.get $m) ${swapped(l, '$v')})))))
        (local.set $i (i32.add (local.get $i) (i32.const ${step})))
        (br $next))))`;
}

/** The whole module: every kernel in both precisions, over an imported shared memory. */
export function kernelsWat(): string {
  const kernels = [F64, F32].flatMap((l) => [
    denseSmall(l, 1),
    denseSmall(l, 2),
    denseSmall(l, 3),
    denseAny(l),
    phase(l),
    exchange(l),
    diagonal(l),
  ]);
  return `(module
  (import "env" "memory" (memory 1 65536 shared))
  ${kernels.join('\n')})
`;
}

/** Assembly options: the proposals the text uses. */
export const WAT_FEATURES = { simd: true, threads: true } as const;

import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStackTrace, qpipe } from '../support/cli.ts';

describe('qpipe validate and simulate (end to end, child process)', () => {
  it('simulates under a capped address space (ulimit -v 4 GB): with the scalar kernels, said once, where WebAssembly memory cannot be reserved', async () => {
    const capped = (command: string) =>
      new Promise<{ stdout: string; stderr: string; code: number }>((resolve) =>
        execFile(
          'bash',
          ['-c', `ulimit -v 4000000; exec "${process.execPath}" ${command}`],
          // Logs go to stderr, silent by default: LOG_LEVEL shows the warning.
          { cwd: new URL('../../', import.meta.url).pathname, env: { ...process.env, LOG_LEVEL: 'warn' } },
          (error, out, err) => resolve({ stdout: out, stderr: err, code: error ? Number(error.code ?? 1) : 0 }),
        ),
      );
    // Whether this runtime can reserve a shared WebAssembly memory under the cap (Node 20 cannot; Node 24 can).
    const probe = await capped(
      `-e "try { new WebAssembly.Memory({ initial: 16, maximum: 16, shared: true }); console.log('reserved') } catch { console.log('refused') }"`,
    );
    const { stdout, stderr, code } = await capped(
      'bin/qpipe.js simulate examples/circuits/ghz.qasm --shots 200 --seed 3 --output json',
    );
    expect(code).toBe(0);
    const said = stderr.match(/simulating with the scalar kernels/g) ?? [];
    expect(said).toHaveLength(probe.stdout.trim() === 'refused' ? 1 : 0);
    const counts = JSON.parse(stdout) as Record<string, number>;
    expect(Object.keys(counts).sort()).toEqual(['00000', '11111']);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(200);
  });

  it('prints the metadata of a circuit', async () => {
    const result = await qpipe(['validate', 'examples/circuits/bell.qasm', '--output', 'json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      format: 'qasm2',
      qubits: 2,
      clbits: 2,
      depth: 3,
      gateCount: 2,
      twoQubitGates: 1,
    });
  });

  it('validates the jobs of a manifest', async () => {
    const result = await qpipe(['validate', 'examples/several-jobs.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/research\/ghz3: valid\n {2}format qasm3 {2}qubits 3/);
  });

  it("names the job each error of a manifest belongs to, and a missing ConfigMap key in run's words in validate, estimate and run", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-named-'));
    const file = join(dir, 'jobs.yaml');
    await writeFile(
      file,
      [
        'apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: good}\nspec: {circuit: {source: inline, code: "OPENQASM 3; qubit q; h q;"}}\n',
        'apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: bad}\nspec: {circuit: {source: inline, code: "OPENQASM 3; qubit q; hadamard q;"}}\n',
        'apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: cm}\nspec: {circuit: {source: configmap, configMapRef: {name: circuits, key: nope.qasm}}}\n',
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: circuits}\ndata: {bell.qasm: "OPENQASM 3; qubit q; h q;"}\n',
      ].join('---\n'),
    );
    const missingKey = 'spec.circuit.configMapRef: ConfigMap circuits has no key "nope.qasm"';
    const validated = await qpipe(['validate', file]);
    expect(validated.code).toBe(1);
    expect(validated.stderr).toMatch(/QiskitJob default\/bad: 1:22: unknown gate "hadamard"/);
    expect(validated.stderr).toContain(`QiskitJob default/cm: ${missingKey}`);
    const estimated = await qpipe(['estimate', file]);
    expect(estimated.stdout).toMatch(new RegExp(`default/cm \\(.*\\)\\n {2}${missingKey.replace(/[.()"]/g, '\\$&')}`));
    const run = await qpipe(['run', file]);
    expect(run.stdout).toContain(`validate: ${missingKey}`);
  });

  it('warns, still valid, of gates Qiskit and the specification refuse undeclared (once accepted silently)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-portable-'));
    const file = join(dir, 'zz.qasm');
    await writeFile(file, 'OPENQASM 3;\nqubit[2] q;\nh q[0];\nrzz(0.5) q[0], q[1];\n');
    const result = await qpipe(['validate', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/: valid\n/);
    expect(result.stderr).toContain(
      'warning: gate "rzz" is neither in stdgates.inc nor declared: qpipe and Amazon Braket accept it, Qiskit and the OpenQASM 3 specification do not',
    );
    expect(result.stderr).toContain('warning: "h" comes from stdgates.inc, which the program does not include');
  });

  it('reports a malformed circuit with file, line:column and a caret, exit 1', async () => {
    const result = await qpipe(['validate', 'test/fixtures/bad-gate.qasm']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^test\/fixtures\/bad-gate\.qasm:5:1: unknown gate "hadamard"/);
    expect(result.stderr).toContain('^');
    expect(hasStackTrace(result)).toBe(false);
  });

  it('prints the exact probabilities of 18 measured bits, most likely first, or the top N (once overflowed the stack)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-probabilities-'));
    const file = join(dir, 'wide.qasm');
    // Qubit 0 leans to 1 (ry), the rest uniform: 2^18 outcomes, those ending in 1 three times as likely.
    await writeFile(
      file,
      'OPENQASM 3;\ninclude "stdgates.inc";\nqubit[18] q;\nbit[18] c;\nh q[1:17];\nry(2.0943951023931953) q[0];\nc = measure q;\n',
    );
    const all = await qpipe(['simulate', file, '--probabilities']);
    expect(all.code).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2 ** 18);
    const values = lines.map((line) => Number(line.trim().split(/\s+/)[1]));
    expect(values.every((v, i) => i === 0 || v <= (values[i - 1] as number))).toBe(true);
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    expect(lines[0]?.trim()).toMatch(/^0{17}1 {2}5\.72205e-6$/);
    const top = await qpipe(['simulate', file, '--probabilities', '--top', '2', '--output', 'json']);
    expect(top.code).toBe(0);
    expect(Object.keys(JSON.parse(top.stdout) as object)).toEqual(['000000000000000001', '000000000000000011']);
    expect(top.stderr).toMatch(/262142 less likely outcomes not shown \(--top 2\)/);
    expect((await qpipe(['simulate', file, '--top', '2'])).code).toBe(2);
  });

  it('prints exact probabilities of the measured bits as JSON', async () => {
    const result = await qpipe([
      'simulate',
      'examples/circuits/teleportation.qasm',
      '--probabilities',
      '--output',
      'json',
    ]);
    expect(result.code).toBe(0);
    const probabilities = JSON.parse(result.stdout) as Record<string, number>;
    expect(Object.keys(probabilities)).toHaveLength(8);
    expect(Object.values(probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('samples repeatably with a seed', async () => {
    const args = ['simulate', 'examples/circuits/qrng.qasm', '--shots', '64', '--seed', '9', '--output', 'json'];
    const first = JSON.parse((await qpipe(args)).stdout) as Record<string, number>;
    expect(JSON.parse((await qpipe(args)).stdout)).toEqual(first);
    expect(Object.values(first).reduce((a, b) => a + b, 0)).toBe(64);
  });

  it('takes values of input parameters', async () => {
    const result = await qpipe([
      'simulate',
      'test/fixtures/input-rotation.qasm',
      '--input',
      'theta=3.141592653589793',
      '--probabilities',
      '--output',
      'json',
    ]);
    expect(JSON.parse(result.stdout)).toEqual({ '1': expect.closeTo(1, 12) });
    const missing = await qpipe(['simulate', 'test/fixtures/input-rotation.qasm']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/input parameter "theta" has no value/);
  });

  it('refuses more shots than a job may ask for, naming the limit', async () => {
    const result = await qpipe(['simulate', 'examples/circuits/bell.qasm', '--shots', '1000000000']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--shots: must be a whole number from 1 to 100000 \(got 1000000000\)/);
  });
});

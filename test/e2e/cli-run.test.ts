import { readdirSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobOutcome } from '../../shared/cli/run-command.ts';
import { hasStackTrace, qpipe } from '../support/cli.ts';

/** |observed − expected| within 5 standard deviations of a binomial count. */
function withinFiveSigma(count: number, shots: number, p: number): boolean {
  return Math.abs(count - shots * p) <= 5 * Math.sqrt(shots * p * (1 - p));
}

function parseJobs(stdout: string): JobOutcome[] {
  return JSON.parse(stdout) as JobOutcome[];
}

describe('qpipe run (end to end, child process)', () => {
  it('runs examples/bell.yaml through every stage: only 00 and 11, each within 5 sigma of half', async () => {
    const result = await qpipe(['run', 'examples/bell.yaml', '--output', 'json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [job] = parseJobs(result.stdout);
    expect(job).toMatchObject({
      namespace: 'default',
      name: 'bell',
      phase: 'Succeeded',
      backend: 'local-simulator',
      shots: 1024,
      estimatedCost: '$0.00',
      actualCost: '$0.00',
    });
    const counts = job?.counts ?? {};
    expect(Object.keys(counts).sort()).toEqual(['00', '11']);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1024);
    for (const n of Object.values(counts)) expect(withinFiveSigma(n, 1024, 0.5)).toBe(true);
    expect(job?.resultLocation).toMatch(/result\.json$/);
  });

  it('runs the same job again as a new run when it is run twice on one store', async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-store-'));
    const first = parseJobs(
      (await qpipe(['run', 'examples/bell.yaml', '--output', 'json'], { QPIPE_STORE: store })).stdout,
    )[0];
    const second = parseJobs(
      (await qpipe(['run', 'examples/bell.yaml', '--output', 'json'], { QPIPE_STORE: store })).stdout,
    )[0];
    expect(second?.phase).toBe('Succeeded');
    expect(second?.resultLocation).not.toBe(first?.resultLocation);
  });

  it('prints phase, backend, cost and a histogram in text mode', async () => {
    const result = await qpipe(['run', 'examples/bell.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/default\/bell {2}Succeeded/);
    expect(result.stdout).toMatch(/backend +local-simulator/);
    expect(result.stdout).toMatch(/cost +\$0\.00 \(estimated \$0\.00\)/);
    expect(result.stdout).toMatch(/ 00 +\d+ +\d+\.\d% +█+/);
  });

  it('runs examples/*.yaml together: each example in a namespace of its own, only the budget demo rejects (once 14 of 17 jobs were rejected)', async () => {
    const files = readdirSync(new URL('../../examples/', import.meta.url))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => `examples/${f}`);
    const result = await qpipe(['run', ...files, '--output', 'json']);
    const jobs = parseJobs(result.stdout);
    expect(jobs.length).toBeGreaterThan(15);
    const notSucceeded = jobs.filter((j) => j.phase !== 'Succeeded');
    expect(notSucceeded.map((j) => `${j.namespace}/${j.name} ${j.phase}`)).toEqual([
      expect.stringMatching(/^budget-demo\/demo-[a-z-]+ Rejected$/),
    ]);
    expect(notSucceeded[0]?.message).toMatch(/cannot cover this job/);
  }, 120_000);

  it('runs every example to Succeeded with results that match the physics', async () => {
    // The budget demo holds and rejects a job on purpose; it has its own test.
    const files = readdirSync(new URL('../../examples/', import.meta.url))
      .filter((f) => f.endsWith('.yaml') && f !== 'budget-demo.yaml')
      .map((f) => `examples/${f}`);
    const result = await qpipe(['run', ...files, '--output', 'json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const jobs = new Map(parseJobs(result.stdout).map((j) => [j.name, j]));
    for (const job of jobs.values()) expect(job.phase, `${job.name}: ${job.message}`).toBe('Succeeded');
    const keys = (name: string) => Object.keys(jobs.get(name)?.counts ?? {}).sort();
    expect(keys('ghz')).toEqual(['00000', '11111']);
    expect(keys('qft')).toEqual(['0101']);
    expect(keys('grover')).toEqual(['11']);
    expect(keys('bernstein-vazirani')).toEqual(['1011']);
    expect(keys('deutsch-jozsa')).toEqual(['111']);
    expect(keys('shor15').every((k) => ['000', '010', '100', '110'].includes(k))).toBe(true);
    expect(keys('qrng').every((k) => /^[01]{8}$/.test(k))).toBe(true);
    const teleport = jobs.get('teleportation')?.counts ?? {};
    const ones = Object.entries(teleport).reduce((sum, [k, n]) => sum + (k.startsWith('1') ? n : 0), 0);
    expect(withinFiveSigma(ones, 1024, Math.sin(0.6) ** 2)).toBe(true);
    // The multi-document example: a priced backend charged the budget; fallback ran the Braket job locally.
    expect(jobs.get('ghz3')).toMatchObject({ backend: 'priced-simulator', actualCost: '$0.21' });
    expect(jobs.get('bell-on-braket-or-simulator')).toMatchObject({ phase: 'Succeeded', backend: 'local-simulator' });
  });

  it.each([
    ['a missing circuit', 'spec:\n  execution:\n    shots: 10\n', /spec\.circuit: is required/],
    [
      'zero shots',
      'spec:\n  circuit: {source: inline, code: "OPENQASM 2.0; qreg q[1];"}\n  execution: {shots: 0}\n',
      /spec\.execution\.shots: must be at least 1 \(got 0\)/,
    ],
    [
      'an unknown backend type',
      'spec:\n  backend: {type: dwave}\n  circuit: {source: inline, code: "OPENQASM 2.0; qreg q[1];"}\n',
      /spec\.backend\.type: must be one of/,
    ],
    [
      'Python code',
      'spec:\n  circuit:\n    source: inline\n    code: |\n      from qiskit import QuantumCircuit\n      qc = QuantumCircuit(1)\n',
      /qasm3\.dumps\(qc\)/,
    ],
    [
      'a malformed circuit',
      'spec:\n  circuit:\n    source: inline\n    code: |\n      OPENQASM 2.0;\n      qreg q[1];\n      h q[0]\n',
      /4:1: expected ";" but found the end of the program/,
    ],
  ])('rejects a job with %s: clear error, non-zero exit, no stack trace', async (_case, body, message) => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-bad-'));
    const file = join(dir, 'job.yaml');
    await writeFile(file, `apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata:\n  name: bad\n${body}`);
    const result = await qpipe(['run', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/default\/bad {2}Rejected/);
    expect(result.stdout).toMatch(message);
    expect(hasStackTrace(result)).toBe(false);
  });

  it('rejects a wrong apiVersion by name and still runs the other jobs of the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-bad-'));
    const file = join(dir, 'jobs.yaml');
    const good =
      'apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: good}\nspec:\n  circuit: {source: inline, code: "OPENQASM 2.0; include \\"qelib1.inc\\"; qreg q[1]; creg c[1]; x q[0]; measure q -> c;"}\n';
    await writeFile(file, `apiVersion: quantum.io/v2\nkind: QiskitJob\nmetadata: {name: old}\nspec: {}\n---\n${good}`);
    const result = await qpipe(['run', file, '--output', 'json']);
    expect(result.code).toBe(1);
    const jobs = parseJobs(result.stdout);
    expect(jobs.find((j) => j.name === 'old')).toMatchObject({
      phase: 'Rejected',
      message: expect.stringMatching(/apiVersion: must be quantum\.io\/v1 \(got "quantum\.io\/v2"\)/),
    });
    expect(jobs.find((j) => j.name === 'good')).toMatchObject({ phase: 'Succeeded', counts: { '1': 1024 } });
  });

  const namedJob = (name: string, namespace = 'default') =>
    `apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: "${name}", namespace: "${namespace}"}\nspec:\n  execution: {shots: 10}\n  circuit: {source: inline, code: "OPENQASM 2.0; include \\"qelib1.inc\\"; qreg q[1]; creg c[1]; x q[0]; measure q -> c;"}\n`;

  it('reports every job of a file with hostile or long names, writing nothing outside the store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-names-'));
    const store = join(dir, 'store');
    const file = join(dir, 'names.yaml');
    const long = `a${'b'.repeat(251)}c`; // 253 characters: legal in Kubernetes, longer than a file name may be
    await writeFile(
      file,
      [namedJob('../escape'), namedJob('ok', '..'), namedJob(long), namedJob('plain')].join('---\n'),
    );
    const result = await qpipe(['run', file, '--output', 'json'], { QPIPE_STORE: store });
    const jobs = parseJobs(result.stdout);
    expect(jobs.map((j) => [j.namespace, j.name, j.phase])).toEqual([
      ['default', '../escape', 'Rejected'],
      ['..', 'ok', 'Rejected'],
      ['default', long, 'Succeeded'],
      ['default', 'plain', 'Succeeded'],
    ]);
    expect(jobs[0]?.message).toMatch(/metadata\.name: has an invalid format/);
    expect(jobs[2]?.counts).toEqual({ '1': 10 });
    expect(readdirSync(dir).sort()).toEqual(['names.yaml', 'store']);
    expect(hasStackTrace(result)).toBe(false);
  });

  it('refuses two jobs of one name in the files, naming both documents', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-names-'));
    const file = join(dir, 'dup.yaml');
    await writeFile(file, [namedJob('twin'), namedJob('twin')].join('---\n'));
    const result = await qpipe(['run', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}:7: QiskitJob default/twin is already defined at ${file}:1`);
    expect(result.stdout).not.toMatch(/Succeeded/);
  });

  it('reports each of two runs of one manifest at once by its own job, not the other run', async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-store-'));
    const runs = await Promise.all(
      [1, 2].map(() => qpipe(['run', 'examples/budget-demo.yaml', '--output', 'json'], { QPIPE_STORE: store })),
    );
    for (const run of runs) {
      const jobs = parseJobs(run.stdout);
      // Each run charges its own reservations: a job reported Succeeded has its own cost and result.
      for (const job of jobs.filter((j) => j.phase === 'Succeeded')) {
        expect(job.actualCost).toBe('$1.50');
        expect(job.resultLocation).toMatch(/result\.json$/);
      }
      for (const job of jobs.filter((j) => j.phase === 'Rejected'))
        expect(job.message).toMatch(/cannot cover this job/);
    }
    const outcomes = runs.flatMap((run) => parseJobs(run.stdout).map((j) => j.phase));
    // One $5.00 budget shared by both runs: three $1.50 jobs fit, whichever run they came from.
    expect(outcomes.filter((p) => p === 'Succeeded')).toHaveLength(3);
  }, 60_000);

  it('names the file, line and column of a YAML syntax error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-bad-'));
    const file = join(dir, 'broken.yaml');
    await writeFile(file, 'apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: x\n');
    const result = await qpipe(['run', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${file}:\\d+:\\d+: YAML syntax error`));
    expect(hasStackTrace(result)).toBe(false);
  });

  it('refuses to run jobs when a budget in the files is invalid, so nothing runs unguarded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-bad-'));
    const file = join(dir, 'budget.yaml');
    await writeFile(
      file,
      'apiVersion: quantum.io/v1\nkind: QiskitBudget\nmetadata: {name: b}\nspec: {limit: "10 dollars", period: monthly}\n',
    );
    const result = await qpipe(['run', file, 'examples/bell.yaml']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/budget\.yaml:1: .*spec\.limit: must be an amount of money/s);
    expect(result.stdout).not.toMatch(/Succeeded/);
  });

  it('answers a usage error with exit code 2 and a hint', async () => {
    const result = await qpipe(['run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/run needs at least one manifest file\nRun "qpipe run --help" for usage\./);
    expect((await qpipe(['frobnicate', 'x'])).code).toBe(2);
    const bogus = await qpipe(['--bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/^qpipe: unknown option --bogus\nRun "qpipe --help" for usage\.$/m);
  });
});

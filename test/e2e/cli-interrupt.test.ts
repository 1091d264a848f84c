/**
 * A `qpipe run` stopped mid-simulation (Ctrl-C, or killed outright) leaves no money reserved:
 * the built CLI in child processes over one real store folder, as a user at a terminal runs it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobNameKey } from '../../shared/cluster/local-cluster.ts';
import { qpipe, startServe } from '../support/cli.ts';
import { PRICED_RESOURCES_YAML } from '../support/manifests.ts';

const BIN = new URL('../../bin/qpipe.js', import.meta.url).pathname;

/** A circuit the simulator works on for minutes (24 qubits, 200 layers): stopped long before it ends. */
function longCircuit(): string {
  const n = 24;
  const layer = [
    ...Array.from({ length: n }, (_, k) => `  rx(0.1) q[${k}];`),
    ...Array.from({ length: n - 1 }, (_, k) => `  cx q[${k}], q[${k + 1}];`),
  ];
  return ['OPENQASM 3.0;', 'include "stdgates.inc";', `qubit[${n}] q;`, `bit[${n}] c;`]
    .concat(['for int i in [0:199] {', ...layer, '}', 'c = measure q;'])
    .join('\n');
}

/** A priced simulator and a budget that holds one $1.00 job at a time. */
const RESOURCES = PRICED_RESOURCES_YAML;

const job = (name: string, code: string) => `apiVersion: quantum.io/v1
kind: QiskitJob
metadata: { name: ${name}, namespace: default }
spec:
  backend: { name: priced }
  execution: { shots: 100 }
  circuit:
    source: inline
    code: |
${code
  .split('\n')
  .map((line) => `      ${line}`)
  .join('\n')}
`;

const BELL = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;';

describe('a qpipe run stopped mid-simulation (child processes, real store folder)', () => {
  let dir: string;
  let store: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qpipe-interrupt-'));
    store = join(dir, 'store');
    await writeFile(join(dir, 'resources.yaml'), RESOURCES);
    await writeFile(join(dir, 'long.yaml'), job('long', longCircuit()));
    await writeFile(join(dir, 'next.yaml'), job('next', BELL));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  /** Starts the long job and resolves once execute has it (its status says Approved). */
  async function startLongRun() {
    const child = spawn(process.execPath, [BIN, 'run', join(dir, 'resources.yaml'), join(dir, 'long.yaml')], {
      env: { ...process.env, QPIPE_STORE: store, QPIPE_SIMULATOR_MAX_MEMORY: '1GiB' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (;;) {
      const status = await readFile(join(store, jobNameKey('default', 'long')), 'utf8').catch(() => '');
      if (status.includes('"Approved"')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Into the simulation proper.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return { child, exited, output: () => output };
  }

  const runNext = () =>
    qpipe(['run', join(dir, 'resources.yaml'), join(dir, 'next.yaml')], {
      QPIPE_STORE: store,
      QPIPE_SIMULATOR_MAX_MEMORY: '1GiB',
    });

  it('Ctrl-C stops the simulation, fails the job and releases its reservation; the next job is approved', async () => {
    const { child, exited, output } = await startLongRun();
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(output()).toMatch(/default\/long {2}Failed/);
    expect(output()).toMatch(/the run was stopped \(SIGINT\) before the job finished/);
    expect(output()).toMatch(
      /budget default\/team {2}Active {2}spent \$0\.00 of \$1\.50 \(monthly\), reserved \$0\.00/,
    );

    const next = await runNext();
    expect(next.stdout).toMatch(/default\/next {2}Succeeded/);
    expect(next.stdout).toMatch(/spent \$1\.00 of \$1\.50 \(monthly\), reserved \$0\.00/);
  }, 120_000);

  it('after SIGKILL the next run reclaims the dead run’s reservation, approves its job and fails the dead one', async () => {
    const { child, exited } = await startLongRun();
    child.kill('SIGKILL');
    await exited;

    const next = await runNext();
    expect(next.stdout).toMatch(/default\/next {2}Succeeded/);
    expect(next.stdout).toMatch(/spent \$1\.00 of \$1\.50 \(monthly\), reserved \$0\.00/);
    const dead = await qpipe(['status', 'long', '--namespace', 'default'], { QPIPE_STORE: store });
    expect(dead.stdout).toMatch(/Failed/);
    expect(dead.stdout).toMatch(/its run died: the process that ran it \(.*\) is gone/);
  }, 120_000);
});

describe('qpipe cancel of a job published to qpipe serve (child processes, real HTTP, real store folder)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qpipe-cancel-'));
    await writeFile(join(dir, 'resources.yaml'), RESOURCES);
    await writeFile(join(dir, 'long.yaml'), job('long', longCircuit()));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('stops its simulation, fails it with the reason and releases its reservation', async () => {
    const env = { QPIPE_STORE: join(dir, 'store'), QPIPE_SIMULATOR_MAX_MEMORY: '1GiB' };
    const server = await startServe(['--port', '0', '--resources', join(dir, 'resources.yaml')], env);
    try {
      const statusOf = async () => {
        const response = await fetch(`${server.url}/jobs/default/long`);
        return response.ok
          ? ((await response.json()) as { status: { phase: string; message?: string } }).status
          : undefined;
      };
      expect((await qpipe(['submit', join(dir, 'long.yaml'), '--to', server.url], env)).code).toBe(0);
      while ((await statusOf())?.phase !== 'Approved') await new Promise((resolve) => setTimeout(resolve, 100));
      await new Promise((resolve) => setTimeout(resolve, 1000));

      const cancel = await qpipe(['cancel', 'long', '--to', server.url, '--reason', 'wrong circuit'], env);
      expect(cancel.stdout).toMatch(/^asked to cancel default\/long \(event \S+\)$/m);
      let status = await statusOf();
      while (status?.phase !== 'Failed') {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = await statusOf();
      }
      expect(status.message).toMatch(/stopped: it was cancelled \(wrong circuit\)/);
      // The failure reaches enforce-budget beside collect-results: its release lands as the status does.
      const budgetStatus = async () =>
        JSON.parse(await readFile(join(dir, 'store', 'status/qiskitbudgets/default/team.json'), 'utf8')) as {
          reserved: string;
        };
      for (let look = 0; look < 100 && (await budgetStatus()).reserved !== '$0.00'; look++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await budgetStatus()).toMatchObject({ spent: '$0.00', reserved: '$0.00', reservations: [] });
    } finally {
      server.process.kill('SIGTERM');
    }
  }, 120_000);
});

/** The CLI as a careless user or a hostile file meets it (child processes): help, typos, escapes, ports, files. */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStackTrace, qpipe, startServe } from '../support/cli.ts';

const BIN = new URL('../../bin/qpipe.js', import.meta.url).pathname;

/** A stand-in broker on loopback: keeps each CloudEvent's subject and body, answers 202. */
async function eventSink(): Promise<{ url: string; received: { subject: string; body: string }[]; close(): void }> {
  const received: { subject: string; body: string }[] = [];
  const { createServer: createHttpServer } = await import('node:http');
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ subject: String(req.headers['ce-subject']), body });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    received,
    close: () => server.close(),
  };
}

describe('qpipe on careless and hostile input (child processes)', () => {
  it('gives each command its own --help, and `qpipe help <command>` the same', async () => {
    const help = await qpipe(['simulate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage:\n {2}qpipe simulate <file\.qasm>/);
    expect(help.stdout).toMatch(/--shots N/);
    expect(help.stdout).not.toMatch(/qpipe run|--bus/);
    expect((await qpipe(['help', 'simulate'])).stdout).toBe(help.stdout);
  });

  it('refuses, exit 2, an option the command does not take, naming what it takes, or the one a typo meant', async () => {
    // Each once ran as if the option were not there: 1024 shots, a perfect simulation, a manifest published.
    const run = await qpipe(['run', '--shots', '10', 'examples/bell.yaml']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /qpipe: run does not take --shots \(it takes --output, --store\)\nRun "qpipe run --help"/,
    );
    const simulate = await qpipe(['simulate', '--backend', 'ibm_torino', 'examples/circuits/bell.qasm']);
    expect(simulate.code).toBe(2);
    expect(simulate.stderr).toMatch(/simulate does not take --backend/);
    const typo = await qpipe(['simulate', '--shot', '10', 'examples/circuits/bell.qasm']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown option --shot; did you mean --shots\?/);
    const missing = await qpipe(['transpile', 'examples/circuits/bell.qasm', '--backend']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--backend/);
    for (const result of [run, simulate, typo, missing]) expect(hasStackTrace(result)).toBe(false);
  });

  it("prints each command's help from the options it takes, and the exit codes", async () => {
    const help = await qpipe(['run', '--help']);
    expect(help.stdout).toMatch(/--output text\|json/);
    expect(help.stdout).not.toMatch(/--shots|--probabilities|--bus/);
    expect(help.stdout).toMatch(/Exit codes:\n {2}0 {2}success\n {2}1 .*\n {2}2 /);
  });

  it('prints each phase change while status --wait waits (once silent until the end), the final status on stdout', async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-wait-'));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(store, 'status/qiskitjobs/default'), { recursive: true });
    const write = (phase: string, message?: string) =>
      writeFile(
        join(store, 'status/qiskitjobs/default/slow.json'),
        JSON.stringify({
          uid: 'u-1',
          namespace: 'default',
          name: 'slow',
          status: { phase, ...(message ? { message } : {}) },
        }),
      );
    await write('Validated');
    // The next phase is written once the command has printed the last one: no clock involved.
    const child = spawn(process.execPath, [BIN, 'status', 'slow', '--wait', '60'], {
      env: { ...process.env, QPIPE_STORE: store },
    });
    let stderr = '';
    let stdout = '';
    const waiters: (() => void)[] = [];
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      for (const waiter of waiters.splice(0)) waiter();
    });
    const exited = new Promise<number>((resolve) =>
      child.on('exit', (code) => {
        resolve(code ?? 1);
        for (const waiter of waiters.splice(0)) waiter();
      }),
    );
    const printed = async (phase: string) => {
      while (!stderr.includes(`  ${phase}`)) {
        if (child.exitCode !== null) throw new Error(`status exited before printing ${phase}: ${stderr}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    };
    await printed('Validated');
    await write('AwaitingBudget', 'waits for budget default/team');
    await printed('AwaitingBudget');
    await write('Running');
    await printed('Running');
    await write('Succeeded');
    const result = { code: await exited, stdout, stderr };
    expect(result.code).toBe(0);
    const changes = result.stderr
      .trim()
      .split('\n')
      .map((line) => line.replace(/^\d{2}:\d{2}:\d{2} {2}/, ''));
    expect(changes).toEqual([
      'default/slow  Validated',
      'default/slow  AwaitingBudget  waits for budget default/team',
      'default/slow  Running',
    ]);
    expect(result.stdout).toMatch(/^default\/slow {2}Succeeded/);
  }, 60_000);

  it('suggests the command meant by a typo, exit code 2', async () => {
    const result = await qpipe(['submti', 'x.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command "submti"; did you mean "submit"\?/);
  });

  it('shows control characters from a file escaped, never sent to the terminal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-escape-'));
    const file = join(dir, 'evil.qasm');
    // A terminal escape (clear screen, set title) and a bidirectional override inside a bad gate name.
    await writeFile(file, 'OPENQASM 2.0;\nqreg q[1];\nx\u001b[2J\u001b]0;pwned\u0007\u202e q[0];\n');
    const result = await qpipe(['validate', file]);
    expect(result.code).toBe(1);
    for (const raw of ['\u001b', '\u0007', '\u202e']) expect(result.stdout + result.stderr).not.toContain(raw);
    expect(result.stderr).toContain('\\u001b[2J');
  });

  it('names a port in use without a stack trace', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = String((holder.address() as { port: number }).port);
    try {
      const result = await qpipe(['serve', '--port', port]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`--port: port ${port} is already in use`));
      expect(hasStackTrace(result)).toBe(false);
    } finally {
      holder.close();
    }
  });

  it('publishes only the jobs validate accepts, names the others, exit 1 (an invalid job once went out with exit 0)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-submit-'));
    const file = join(dir, 'jobs.yaml');
    await writeFile(
      file,
      'apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: good}\n' +
        'spec: {circuit: {source: inline, code: "OPENQASM 3; qubit q; h q;"}}\n---\n' +
        'apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: bad}\n' +
        'spec: {circuit: {source: inline, code: "OPENQASM 3; qubit q; hadamard q;"}}\n',
    );
    const sink = await eventSink();
    try {
      const result = await qpipe(['submit', file, '--to', sink.url]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^submitted default\/good /);
      expect(result.stderr).toMatch(/not submitted: .*unknown gate "hadamard"/);
      expect(sink.received.map((r) => r.subject)).toEqual(['default/good']);
    } finally {
      sink.close();
    }
  });

  it('refuses to submit budgets and backends it cannot send, naming them; inlines a ConfigMap circuit', async () => {
    const refused = await qpipe(['submit', 'examples/budget-demo.yaml', '--to', 'http://127.0.0.1:9']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /QiskitBudget budget-demo\/demo, QiskitBackend default\/metered-simulator cannot travel with a job request/,
    );

    // A ConfigMap the job reads travels inside it: the job arrives with its circuit inline.
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-submit-'));
    const file = join(dir, 'job.yaml');
    await writeFile(
      file,
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: circuits}\ndata: {bell.qasm: "OPENQASM 3; qubit q; h q;"}\n---\n' +
        'apiVersion: quantum.io/v1\nkind: QiskitJob\nmetadata: {name: cm}\n' +
        'spec: {circuit: {source: configmap, configMapRef: {name: circuits, key: bell.qasm}}}\n',
    );
    const sink = await eventSink();
    try {
      const sent = await qpipe(['submit', file, '--to', sink.url]);
      expect(sent.code).toBe(0);
      expect(JSON.parse(sink.received[0]?.body ?? '')).toMatchObject({
        job: { spec: { circuit: { source: 'inline', code: 'OPENQASM 3; qubit q; h q;' } } },
      });
    } finally {
      sink.close();
    }
  });

  it('backs up every file given to --resources, not only the first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-backup-'));
    const result = await qpipe(
      ['backup', '--to', join(dir, 'b'), '--resources', 'examples/budget.yaml', 'examples/budget-demo.yaml'],
      { QPIPE_STORE: join(dir, 'store') },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/2 QiskitBudget/);
  });

  it('stops at SIGTERM within the grace period while serving', async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-sigterm-'));
    const { process: child } = await startServe(['--port', '0'], { QPIPE_STORE: store });
    const started = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

/**
 * Credentials from files (`NAME_FILE`: a mounted Secret, Vault Agent's rendered file): read at
 * start-up, and a rotation seen by a running `qpipe serve` (a real child process), which stops
 * gracefully so that its supervisor starts it again with the new value. And the profiling switch.
 */
import { mkdtemp, readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { startServe } from '../support/cli.ts';

async function secrets() {
  const dir = await mkdtemp(join(tmpdir(), 'qpipe-secrets-'));
  const key = join(dir, 'ibm-api-key');
  const crn = join(dir, 'ibm-crn');
  await writeFile(key, 'first-key\n');
  await writeFile(crn, 'crn:v1:bluemix:public:quantum-computing:us-east:a/1::');
  return { dir, key, crn };
}

describe('credentials from files', () => {
  it('reads NAME_FILE into NAME (without its trailing newline), and names the setting when it cannot', async () => {
    const { key, crn, dir } = await secrets();
    const config = loadConfig({ IBM_QUANTUM_API_KEY_FILE: key, IBM_QUANTUM_CRN_FILE: crn });
    expect(config.providers.ibm).toMatchObject({ apiKey: 'first-key', serviceCrn: expect.stringMatching(/^crn:v1:/) });
    expect(() => loadConfig({ IBM_QUANTUM_API_KEY_FILE: join(dir, 'missing'), IBM_QUANTUM_CRN_FILE: crn })).toThrow(
      /IBM_QUANTUM_API_KEY_FILE: cannot read ".*missing": ENOENT/,
    );
    await writeFile(join(dir, 'empty'), '\n');
    expect(() => loadConfig({ QPIPE_SMTP_URL_FILE: join(dir, 'empty') })).toThrow(
      /QPIPE_SMTP_URL_FILE: ".*empty" is empty/,
    );
    expect(() => loadConfig({ IBM_QUANTUM_API_KEY_FILE: key, IBM_QUANTUM_API_KEY: 'k', IBM_QUANTUM_CRN: 'c' })).toThrow(
      /IBM_QUANTUM_API_KEY_FILE: is set, and so is IBM_QUANTUM_API_KEY/,
    );
  });

  it('a running qpipe serve stops gracefully when a credential file is rotated, naming it (Kubernetes starts it again)', async () => {
    const { key, crn, dir } = await secrets();
    const store = await mkdtemp(join(tmpdir(), 'qpipe-store-'));
    const serving = await startServe(['--port', '0'], {
      QPIPE_STORE: store,
      IBM_QUANTUM_API_KEY_FILE: key,
      IBM_QUANTUM_CRN_FILE: crn,
      LOG_LEVEL: 'info',
    });
    let output = '';
    serving.process.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    serving.process.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => serving.process.once('exit', resolve));
    // Rewritten the way the kubelet swaps a Secret volume: a new file renamed over the old.
    await writeFile(join(dir, 'next'), 'second-key\n');
    await rename(join(dir, 'next'), key);
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/IBM_QUANTUM_API_KEY_FILE changed: stopping to start again with the new value/);
  }, 60_000);
});

describe('profiling a served stage as docs/troubleshooting.md says (real qpipe serve, Node flags)', () => {
  it('writes a heap snapshot to the diagnostic folder on SIGUSR2, and keeps serving', async () => {
    const diagnostics = await mkdtemp(join(tmpdir(), 'qpipe-diag-'));
    const store = await mkdtemp(join(tmpdir(), 'qpipe-store-'));
    const serving = await startServe(['--port', '0'], {
      QPIPE_STORE: store,
      NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${diagnostics}`,
    });
    try {
      serving.process.kill('SIGUSR2');
      let files: string[] = [];
      for (let i = 0; i < 100 && !files.some((f) => f.endsWith('.heapsnapshot')); i++) {
        await new Promise((r) => setTimeout(r, 200));
        files = await readdir(diagnostics);
      }
      expect(files.some((f) => f.endsWith('.heapsnapshot'))).toBe(true);
      expect((await fetch(`${serving.url}/healthz`)).ok).toBe(true);
    } finally {
      serving.process.kill('SIGTERM');
    }
  }, 60_000);
});

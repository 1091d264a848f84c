/** Runs the built `qpipe` CLI in a child process, as a user would. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../bin/qpipe.js', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;

/** What a CLI run printed and how it exited. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `qpipe <args>` from the project root, with a fresh store folder unless `QPIPE_STORE` is given. */
export async function qpipe(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const store = await mkdtemp(join(tmpdir(), 'qpipe-store-'));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: { ...process.env, QPIPE_STORE: store, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error && typeof error.code === 'number' ? error.code : error ? 1 : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Asserts-friendly check that nothing printed a JavaScript stack trace. */
export function hasStackTrace(result: CliResult): boolean {
  return /\n\s+at .+:\d+:\d+/.test(result.stdout + result.stderr);
}

/** A `qpipe serve` child process and the URL it listens on. */
export interface ServeProcess {
  readonly process: ChildProcess;
  readonly url: string;
}

/** Starts `qpipe serve <args>` (add `--port 0`) and resolves once it listens; rejects if it exits first. */
export function startServe(args: readonly string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url) resolve({ process: child, url });
    });
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`qpipe serve ${args.join(' ')} exited with ${code}: ${out}`)));
  });
}

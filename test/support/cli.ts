/** Runs the built `qpipe` CLI in a child process, as a user would. */
import { execFile } from 'node:child_process';
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

/**
 * README's command-line section, replayed as a new user would (child processes, a fresh
 * folder): its synopsis is the usage qpipe prints, line by line, and every local `npx qpipe`
 * command it shows runs there, says what its comment says (the amounts it names), and exits
 * as documented. Commands that need a deployment (submit, status, apply to a bucket) are the
 * AWS and Knative suites' to replay.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStackTrace, qpipe } from '../support/cli.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const BIN = join(ROOT, 'bin/qpipe.js');
/** Commands that run on the embedded default with nothing but the repository's files. */
const LOCAL = new Set(['run', 'get', 'describe', 'reset', 'estimate', 'validate', 'simulate', 'transpile']);

/** Every `npx qpipe …` line of README with its comment, in order. */
function readmeCommands(): { args: string[]; comment: string; line: string }[] {
  return [...README.matchAll(/^ {4}(?:npm ci && )?npx qpipe ([^#\n]+?)\s*(?:#\s*(.*))?$/gm)].map((m) => ({
    args: (m[1] as string).split(/\s+/),
    comment: m[2] ?? '',
    line: m[0].trim(),
  }));
}

/** Runs qpipe in `cwd` with the default store there (./.qpipe), as a new user's shell would. */
function inFolder(cwd: string, args: readonly string[]) {
  const { QPIPE_STORE: _store, ...env } = process.env;
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [BIN, ...args], { cwd, env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe("README's command line (end to end, child processes, a fresh folder)", () => {
  it('shows exactly the usage lines qpipe --help prints, in its order', async () => {
    const section = README.slice(README.indexOf('## The command line'));
    const block = [...section.slice(0, section.indexOf('\n- **')).matchAll(/^ {4}(qpipe .*)$/gm)].map((m) => m[1]);
    const help = await qpipe(['--help']);
    const usage = [...help.stdout.matchAll(/^ {2}(qpipe .*)$/gm)].map((m) => m[1]);
    expect(block).toEqual(usage);
  });

  it('runs every local command it shows, in order, saying what its comments say', async () => {
    const commands = readmeCommands().filter(
      (c) =>
        LOCAL.has(c.args[0] as string) &&
        c.args.every((a) => !a.startsWith('<') && (!/\.(ya?ml|qasm)$/.test(a) || existsSync(join(ROOT, a)))),
    );
    // The quick start, the budget demo and its follow-ups at least.
    expect(commands.map((c) => c.args.slice(0, 2).join(' '))).toEqual(
      expect.arrayContaining(['run examples/bell.yaml', 'run examples/budget-demo.yaml', 'get budgets', 'reset']),
    );
    const folder = await mkdtemp(join(tmpdir(), 'qpipe-readme-'));
    await symlink(join(ROOT, 'examples'), join(folder, 'examples'));
    for (const command of commands) {
      const result = await inFolder(folder, command.args);
      expect(hasStackTrace(result), command.line).toBe(false);
      // The demo holds and rejects one job on purpose, as its comment says.
      const expectedCode = /rejected/.test(command.comment) ? 1 : 0;
      expect(result.code, `${command.line}\n${result.stderr}`).toBe(expectedCode);
      for (const amount of command.comment.match(/\$[\d,.]+\d/g) ?? [])
        expect(result.stdout, `${command.line}: ${amount}`).toContain(amount);
      if (command.args.join(' ') === 'run examples/bell.yaml') {
        // The output README prints after the quick start, line for line but the counts and path.
        expect(result.stdout).toMatch(
          /^default\/bell {2}Succeeded\n {2}backend {9}local-simulator\n {2}cost {12}\$0\.00 \(estimated \$0\.00\)\n {2}shots {11}1024\n {2}result {10}.*result\.json\n/,
        );
      }
    }
  }, 120_000);
});

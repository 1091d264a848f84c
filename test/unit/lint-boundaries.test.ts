/** The module boundaries are the linter's to keep (eslint.config.js): real ESLint on real files with a forbidden import added. */
import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });

/** The restricted-import errors of `file` with `line` added at its top. */
async function violations(file: string, line: string): Promise<string[]> {
  const text = `${line}\n${readFileSync(root + file, 'utf8')}`;
  const [result] = await eslint.lintText(text, { filePath: root + file });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('module boundaries (ESLint on the project config)', () => {
  it.each([
    [
      'a cloud SDK in any file of a stage',
      'functions/collect-results/provider-tasks.ts',
      "import '@aws-sdk/client-s3';",
      /Take ports/,
    ],
    [
      'another stage',
      'functions/execute/handler.ts',
      "import '../validate/handler.ts';",
      /never imports another stage/,
    ],
    [
      'a runtime adapter',
      'functions/notify/compose.ts',
      "import '../../shared/runtime/lambda.ts';",
      /runtimes wire them/,
    ],
    [
      'a runtime from the domain',
      'shared/simulator/fusion.ts',
      "import '../runtime/stage.ts';",
      /Domain modules are pure/,
    ],
    [
      'a stage from the domain',
      'shared/qasm/gate-cost.ts',
      "import '../../functions/validate/handler.ts';",
      /Domain modules are pure/,
    ],
    ['HTTP in the domain', 'shared/budget/ledger.ts', "import 'node:http';", /HTTP belongs to the runtime adapters/],
  ])('refuses %s', async (_case, file, line, message) => {
    expect(await violations(file, line)).toEqual([expect.stringMatching(message)]);
  });

  it('lets a Lambda entry wire its SDKs, and the files as they are pass', async () => {
    expect(await violations('functions/execute/lambda.ts', "import '@aws-sdk/client-s3';")).toEqual([]);
    expect(await violations('functions/execute/handler.ts', '')).toEqual([]);
  });
});

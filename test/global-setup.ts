/**
 * Before any test file runs: builds dist/ so end-to-end tests run the CLI exactly as
 * `npx qpipe` does after `npm ci`, and installs the AWS packaging tools into infra/aws once
 * (test files run in parallel, and two installs in one folder would collide).
 */
import { execFileSync } from 'node:child_process';
import { ensureAwsTools } from '../infra/aws/tools.ts';

export default function setup(): void {
  // Integration and e2e each name this setup; one build serves both.
  if (process.env['QPIPE_TEST_DIST_BUILT'] === 'true') return;
  process.env['QPIPE_TEST_DIST_BUILT'] = 'true';
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  ensureAwsTools();
}

/** Builds dist/ so end-to-end tests run the CLI exactly as `npx qpipe` does after `npm ci`. */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}

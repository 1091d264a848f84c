/** The AWS packaging tools (osls, serverless-offline), installed into infra/aws on first use. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const folder = new URL('./', import.meta.url).pathname;

/** Installs the tools if missing; returns the path of the osls executable. */
export function ensureAwsTools(): string {
  const osls = `${folder}node_modules/.bin/osls`;
  if (!existsSync(osls) || !existsSync(`${folder}node_modules/serverless-offline-aws-eventbridge`)) {
    console.log('installing osls and serverless-offline in infra/aws …');
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: folder, stdio: 'inherit' });
  }
  return osls;
}

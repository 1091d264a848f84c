/**
 * `npm run smoke:aws` where no AWS credentials exist (no keys, profile or instance metadata):
 * it says what is missing and does nothing else. Against a stack, it is run in
 * test/e2e/lambda-offline.test.ts (serverless-offline, MinIO and moto standing in for AWS).
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('the AWS smoke test without credentials', () => {
  it('is skipped with the reason, and exits 0', async () => {
    const home = await mkdtemp(join(tmpdir(), 'qpipe-nocreds-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'infra/aws/smoke.ts', '--stack', 'qpipe-dev'],
      {
        cwd: ROOT,
        env: {
          ...env,
          HOME: home,
          AWS_REGION: 'eu-west-1',
          AWS_CONFIG_FILE: join(home, 'none'),
          AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
          // The last link of the chain would ask 169.254.169.254: not from a test.
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      },
    );
    expect(stdout).toMatch(/^skipped: no AWS credentials \(.+\); set AWS_PROFILE or AWS credentials/m);
  });
});

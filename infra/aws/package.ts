/**
 * `npm run package:aws`: bundles every stage, then renders the CloudFormation template
 * offline with osls (no AWS account or credentials) into
 * .serverless/cloudformation-template-update-stack.json, and the SBOM of what the bundles are made
 * of (CycloneDX, npm's own `npm sbom`) beside it.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { bundleStages } from './bundle.ts';
import { ensureAwsTools } from './tools.ts';

const root = new URL('../../', import.meta.url);
const osls = ensureAwsTools();
const sizes = await bundleStages(root);
for (const [stage, bytes] of sizes) console.log(`bundled ${stage}: ${(bytes / 1024).toFixed(0)} KiB`);
execFileSync(osls, ['package', '--stage', 'dev', '--region', 'eu-west-1'], {
  cwd: root.pathname,
  stdio: 'inherit',
  env: {
    ...process.env,
    // Offline: nothing may reach AWS; these satisfy the framework's credential check only.
    AWS_ACCESS_KEY_ID: process.env['AWS_ACCESS_KEY_ID'] ?? 'offline',
    AWS_SECRET_ACCESS_KEY: process.env['AWS_SECRET_ACCESS_KEY'] ?? 'offline',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  },
});

// The production dependencies the bundles are built from (esbuild takes only what they import).
writeFileSync(
  new URL('.serverless/sbom.cdx.json', root),
  execFileSync('npm', ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev'], {
    cwd: root.pathname,
    maxBuffer: 64 << 20,
  }),
);
console.log('wrote .serverless/sbom.cdx.json');

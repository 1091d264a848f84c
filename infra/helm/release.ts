/**
 * `npm run chart:release`: packages infra/helm/qpipe into infra/helm/releases (a Helm chart
 * repository: the packaged versions and their index.yaml). A released version is never packaged
 * again: change the chart, raise CHART_VERSION (infra/helm/render.ts), `npm run gen`, release.
 * The suite upgrades from the newest released version to the working chart
 * (test/integration/helm-chart.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHART_VERSION } from './render.ts';

const root = new URL('../../', import.meta.url).pathname;
const releases = join(root, 'infra/helm/releases');
const packaged = join(releases, `qpipe-${CHART_VERSION}.tgz`);
if (existsSync(packaged)) {
  console.error(
    `qpipe ${CHART_VERSION} is already released (${packaged}): raise CHART_VERSION in infra/helm/render.ts`,
  );
  process.exit(1);
}
// Helm as test/tools/build-servers.sh builds it, unless QPIPE_HELM names another.
const helm =
  process.env['QPIPE_HELM'] ??
  join(process.env['QPIPE_TOOLS_CACHE'] ?? join(homedir(), '.cache/qpipe-tools'), 'helm-v4.3.2');
const home = mkdtempSync(join(tmpdir(), 'qpipe-helm-'));
try {
  const env = { ...process.env, HELM_CONFIG_HOME: home, HELM_CACHE_HOME: home, HELM_DATA_HOME: home };
  execFileSync(helm, ['package', join(root, 'infra/helm/qpipe'), '-d', releases], { env, stdio: 'inherit' });
  execFileSync(helm, ['repo', 'index', releases], { env, stdio: 'inherit' });
  console.log(`released qpipe ${CHART_VERSION} into infra/helm/releases`);
} finally {
  rmSync(home, { recursive: true, force: true });
}

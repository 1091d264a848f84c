/** Helm, as test/tools/build-servers.sh builds it from the Go module proxy into the tools cache. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolsCache, unavailableUnlessCi } from './kube-apiserver.ts';

const HELM_VERSION = 'v4.3.2';

export function helmBinary(): string {
  return join(toolsCache(), `helm-${HELM_VERSION}`);
}

/** Why Helm cannot run here, or undefined when it can (in CI it always can). */
export function helmMissing(): string | undefined {
  return unavailableUnlessCi(
    existsSync(helmBinary()) ? undefined : `helm not built in ${toolsCache()} (run test/tools/build-servers.sh helm)`,
  );
}

/** Runs helm with its own config and cache folders under `home` (nothing of the user's). */
export async function helm(args: readonly string[], options: { home: string; kubeconfig?: string }): Promise<string> {
  const env = {
    ...process.env,
    HELM_CONFIG_HOME: join(options.home, 'config'),
    HELM_CACHE_HOME: join(options.home, 'cache'),
    HELM_DATA_HOME: join(options.home, 'data'),
    ...(options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : {}),
  };
  return (await promisify(execFile)(helmBinary(), [...args], { env, maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/**
 * Bundles each stage's Lambda entry point on its own with esbuild (tree-shaken, ESM, for
 * the nodejs24.x runtime) into .build/<stage>/index.mjs, and reports the sizes.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { build } from 'esbuild';
import { SUBSCRIPTIONS, type Stage } from '../../events/types.ts';

const LAMBDA_STAGES = Object.keys(SUBSCRIPTIONS) as Stage[];

/** Bundles every stage; returns bytes per stage. */
export async function bundleStages(root: URL): Promise<Map<Stage, number>> {
  const out = new URL('.build/', root);
  await rm(out, { recursive: true, force: true });
  const sizes = new Map<Stage, number>();
  for (const stage of LAMBDA_STAGES) {
    const outfile = new URL(`${stage}/index.mjs`, out).pathname;
    await mkdir(new URL(`${stage}/`, out), { recursive: true });
    await build({
      entryPoints: [new URL(`functions/${stage}/lambda.ts`, root).pathname],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      minify: true,
      treeShaking: true,
      legalComments: 'none',
      // Lambda stages never talk to a Kubernetes API; that client stays out of the bundles.
      external: ['@kubernetes/client-node'],
      // Some dependencies are CommonJS and call require().
      banner: {
        js: "import { createRequire as __qpipeRequire } from 'node:module'; const require = __qpipeRequire(import.meta.url);",
      },
      logLevel: 'warning',
    });
    sizes.set(stage, (await stat(outfile)).size);
  }
  return sizes;
}

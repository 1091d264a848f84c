/**
 * Bundles each stage's Lambda entry point on its own with esbuild (tree-shaken, ESM, for
 * the nodejs24.x runtime) into .build/<stage>/index.mjs, and reports the sizes.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { build } from 'esbuild';
import { SUBSCRIPTIONS, type Stage } from '../../events/types.ts';

const LAMBDA_STAGES = Object.keys(SUBSCRIPTIONS) as Stage[];

// Files a stage starts besides its handler, bundled next to it: the simulator's worker
// threads load simulator-worker.mjs from beside the bundle (shared/simulator/engine.ts).
const EXTRA_ENTRIES: Partial<Record<Stage, Record<string, string>>> = {
  execute: { 'simulator-worker.mjs': 'shared/simulator/worker.ts' },
};

/** Bundles every stage; returns bytes per stage. */
export async function bundleStages(root: URL): Promise<Map<Stage, number>> {
  const out = new URL('.build/', root);
  await rm(out, { recursive: true, force: true });
  const sizes = new Map<Stage, number>();
  for (const stage of LAMBDA_STAGES) {
    const outfile = new URL(`${stage}/index.mjs`, out).pathname;
    await mkdir(new URL(`${stage}/`, out), { recursive: true });
    const entries: [string, string][] = [
      [outfile, `functions/${stage}/lambda.ts`],
      ...Object.entries(EXTRA_ENTRIES[stage] ?? {}).map(
        ([name, source]) => [new URL(`${stage}/${name}`, out).pathname, source] as [string, string],
      ),
    ];
    for (const [file, source] of entries) await bundle(new URL(source, root).pathname, file);
    sizes.set(stage, (await stat(outfile)).size);
  }
  return sizes;
}

async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
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
}

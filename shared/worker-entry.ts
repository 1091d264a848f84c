/**
 * How to start a worker thread whose code is a module of this project: its compiled file
 * beside the caller (the build), a bundled file beside a Lambda bundle, or, when running from
 * the TypeScript sources, a bootstrap that registers tsx before importing the module.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** A script file, or code to evaluate. */
export interface WorkerEntry {
  readonly script: URL | string;
  readonly eval: boolean;
}

/**
 * The entry of the worker module `name` (without extension) beside the module at `here`
 * (its import.meta.url), or of `bundled` beside a bundle; undefined when none is present.
 */
export function findWorkerEntry(here: string, name: string, bundled: string): WorkerEntry | undefined {
  if (here.endsWith('.ts')) {
    // require.resolve finds tsx's CommonJS build; its ES module sits beside it.
    const tsx = pathToFileURL(
      createRequire(here)
        .resolve('tsx/esm/api')
        .replace(/\.cjs$/, '.mjs'),
    ).href;
    const worker = new URL(`./${name}.ts`, here).href;
    const script = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(worker)}); });`;
    return { script, eval: true };
  }
  for (const file of [`./${name}.js`, `./${bundled}`]) {
    const url = new URL(file, here);
    if (existsSync(url)) return { script: url, eval: false };
  }
  return undefined;
}

/** The shared corpus of real circuits nobody here wrote (QASMBench, OpenQASM 3 examples), read in place. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Where the corpus is: beside the project, never copied in. */
export const CORPUS = new URL('../../../shared/corpus/', import.meta.url).pathname;
export const corpusPresent = existsSync(CORPUS);

/** Files under a corpus folder ending in `suffix`, sorted. */
export function corpusFiles(folder: string, suffix: string): string[] {
  const root = join(CORPUS, folder);
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith(suffix)) out.push(path);
    }
  };
  walk(root);
  return out;
}

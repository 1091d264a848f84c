/** Writes infra/crds/*.yaml from the resource schemas (`npm run gen`). */
import { writeFile } from 'node:fs/promises';
import { renderCrdFiles } from './crd.ts';

for (const [name, text] of renderCrdFiles()) {
  await writeFile(new URL(name, import.meta.url), text);
  console.log(`wrote infra/crds/${name}`);
}

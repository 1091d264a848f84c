/** Writes infra/knative/config.yaml, services.yaml and triggers.yaml (`npm run gen`). */
import { writeFile } from 'node:fs/promises';
import { renderKnativeFiles } from './render.ts';

for (const [name, text] of renderKnativeFiles()) {
  await writeFile(new URL(name, import.meta.url), text);
  console.log(`wrote infra/knative/${name}`);
}

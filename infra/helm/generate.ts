/** Writes the Helm chart's generated files under infra/helm/qpipe (`npm run gen`). */
import { mkdir, writeFile } from 'node:fs/promises';
import { renderChartFiles, renderChartMetadata } from './render.ts';

const chart = new URL('qpipe/', import.meta.url);
for (const [name, text] of [...renderChartFiles(), ...renderChartMetadata()]) {
  const file = new URL(name, chart);
  await mkdir(new URL('./', file), { recursive: true });
  await writeFile(file, text);
}
console.log('wrote infra/helm/qpipe');

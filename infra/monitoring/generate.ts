/** Writes infra/monitoring's PodMonitor, PrometheusRule and Grafana dashboard (`npm run gen`). */
import { writeFile } from 'node:fs/promises';
import { renderMonitoringFiles } from './render.ts';

for (const [name, text] of renderMonitoringFiles()) {
  await writeFile(new URL(name, import.meta.url), text);
  console.log(`wrote infra/monitoring/${name}`);
}

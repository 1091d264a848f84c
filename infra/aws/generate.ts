/** Writes serverless.yml and the Braket regional template (`npm run gen`). */
import { writeFile } from 'node:fs/promises';
import { renderBraketRegionTemplate } from './braket-region.ts';
import { renderServerlessYaml } from './render.ts';

await writeFile(new URL('../../serverless.yml', import.meta.url), renderServerlessYaml());
await writeFile(new URL('./braket-region.yaml', import.meta.url), renderBraketRegionTemplate());
console.log('wrote serverless.yml and infra/aws/braket-region.yaml');

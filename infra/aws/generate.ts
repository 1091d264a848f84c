/** Writes serverless.yml (`npm run gen`). */
import { writeFile } from 'node:fs/promises';
import { renderServerlessYaml } from './render.ts';

await writeFile(new URL('../../serverless.yml', import.meta.url), renderServerlessYaml());
console.log('wrote serverless.yml');

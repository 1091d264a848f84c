/**
 * Assembles the SIMD kernels (kernels-wat.ts) with wabt and writes them into module.ts as
 * base64 (`npm run gen`), so the binary travels inside the JavaScript: the build, Lambda
 * bundles and worker threads load it without looking for a file. A test fails when the
 * two drift apart.
 */
import { writeFile } from 'node:fs/promises';
import wabt from 'wabt';
import { kernelsWat, WAT_FEATURES } from './kernels-wat.ts';

/** The assembled module, as the text of module.ts. */
export async function renderKernelsModule(): Promise<string> {
  const assembler = await wabt();
  const parsed = assembler.parseWat('kernels.wat', kernelsWat(), { ...WAT_FEATURES });
  try {
    // wabt's typings omit validate's features argument; without it shared memory is refused.
    const validate = parsed.validate.bind(parsed) as (features: object) => void;
    validate(WAT_FEATURES);
    const { buffer } = parsed.toBinary({});
    const base64 = Buffer.from(buffer).toString('base64');
    return `// Generated from kernels-wat.ts by \`npm run gen\`; do not edit.
/** The SIMD kernels' WebAssembly module, base64. */
export const KERNELS_WASM_BASE64 =
  '${base64}';
`;
  } finally {
    parsed.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(new URL('./module.ts', import.meta.url), await renderKernelsModule());
}

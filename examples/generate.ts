/**
 * Writes one QiskitJob manifest per circuit in examples/circuits (`npm run gen`), with the
 * circuit inline so `kubectl apply -f` works; a test fails when they drift apart.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

/** Shots and other settings per example, where the default does not fit. */
const SETTINGS: Record<string, { shots?: number; description: string }> = {
  bell: { description: 'Bell state: counts hold only 00 and 11, about half each.' },
  ghz: { description: 'GHZ state on 5 qubits: only 00000 and 11111.' },
  teleportation: { description: 'Teleportation with classically controlled corrections.' },
  qft: { description: 'QFT then inverse QFT of |5>: always 0101.' },
  grover: { description: 'Grover search for |11>: always 11.' },
  shor15: { description: "Shor's algorithm for 15 with a = 7: 000, 010, 100, 110." },
  qrng: { shots: 256, description: '8 uniformly random bits.' },
  'vqe-ansatz': { description: 'Hardware-efficient VQE ansatz on 4 qubits.' },
  'bernstein-vazirani': { description: 'Bernstein-Vazirani for s = 1011: always 1011.' },
  'deutsch-jozsa': { description: 'Deutsch-Jozsa with a balanced oracle: never 000.' },
};

/** The manifest text of one example. */
export function exampleManifest(name: string, code: string): string {
  const settings = SETTINGS[name];
  const format = /^\s*OPENQASM\s+2/m.test(code) ? 'qasm2' : 'qasm3';
  const job = {
    apiVersion: 'quantum.io/v1',
    kind: 'QiskitJob',
    metadata: { name, namespace: 'default', annotations: { 'quantum.io/description': settings?.description ?? name } },
    spec: {
      backend: { type: 'local_simulator' },
      circuit: { source: 'inline', format, code },
      execution: { shots: settings?.shots ?? 1024 },
    },
  };
  return `# Generated from examples/circuits/${name}.qasm by \`npm run gen\`.\n${stringify(job, { lineWidth: 0 })}`;
}

/** Example manifests by file name. */
export async function renderExamples(): Promise<Map<string, string>> {
  const folder = new URL('./circuits/', import.meta.url);
  const files = new Map<string, string>();
  for (const file of (await readdir(folder)).filter((f) => f.endsWith('.qasm')).sort()) {
    const name = file.replace(/\.qasm$/, '');
    files.set(`${name}.yaml`, exampleManifest(name, await readFile(new URL(file, folder), 'utf8')));
  }
  return files;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  for (const [name, text] of await renderExamples()) {
    await writeFile(new URL(name, import.meta.url), text);
    console.log(`wrote examples/${name}`);
  }
}

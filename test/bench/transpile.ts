/**
 * Transpilation beside Qiskit: for each corpus circuit and IBM fake backend (Heron
 * ibm_torino, Eagle ibm_brisbane), qpipe's two-qubit gates and time (level 1, in process,
 * after the first call warmed the code) against qiskit.transpile(optimization_level=1,
 * seed_transpiler=0) timed in its process; printed as the table docs/performance.md keeps.
 */
import { referenceMissing } from '../support/reference.ts';
import { comparableCircuits, compareWithQiskit } from '../support/transpile-reference.ts';

export async function transpileBench(): Promise<void> {
  const missing = referenceMissing();
  if (missing) {
    console.log(`\ntranspilation: skipped (${missing})`);
    return;
  }
  const { files } = comparableCircuits();
  // Warm the transpiler's code once so the first row does not carry the JIT's start.
  await compareWithQiskit(files.slice(0, 3));
  const { rows, refused } = await compareWithQiskit(files);
  const judged = rows.filter((r) => r.verdict.unloadable === undefined && r.verdict.qiskitTwoQubit !== undefined);
  // One row per circuit, a column group per device.
  const devices = [...new Set(judged.map((r) => r.device))];
  console.log(
    `\n| circuit | qubits | ${devices.map((d) => `${d}: qpipe / Qiskit two-qubit gates (ratio) | qpipe / Qiskit time`).join(' | ')} |`,
  );
  console.log(`|---|---|${devices.map(() => '---|---|').join('')}`);
  const ratios: number[] = [];
  const byFile = new Map<string, typeof judged>();
  for (const row of judged) byFile.set(row.file, [...(byFile.get(row.file) ?? []), row]);
  for (const [file, group] of byFile) {
    const cells = devices.map((device) => {
      const row = group.find((r) => r.device === device);
      if (!row) return ' | ';
      const theirs = row.verdict.qiskitTwoQubit as number;
      const ratio = theirs === 0 ? (row.twoQubitGates === 0 ? 1 : Infinity) : row.twoQubitGates / theirs;
      ratios.push(ratio);
      return `${row.twoQubitGates} / ${theirs} (${ratio.toFixed(2)}) | ${row.ms.toFixed(1)} / ${(row.verdict.qiskitMs as number).toFixed(1)} ms`;
    });
    console.log(`| ${file.replace('qasmbench/', '')} | ${group[0]?.qubits} | ${cells.join(' | ')} |`);
  }
  const geometric = Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length);
  const oursMs = judged.reduce((sum, r) => sum + r.ms, 0);
  const theirsMs = judged.reduce((sum, r) => sum + (r.verdict.qiskitMs as number), 0);
  console.log(
    `\n${judged.length} circuit-device pairs: two-qubit ratio geometric mean ${geometric.toFixed(3)}, worst ${Math.max(...ratios).toFixed(2)}; ` +
      `total time qpipe ${oursMs.toFixed(0)} ms, Qiskit ${theirsMs.toFixed(0)} ms; ` +
      `${refused.length} refused (measurements not last), ${rows.length - judged.length} Qiskit cannot load`,
  );
}

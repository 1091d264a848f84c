/** Prints `qpipe apply` and `qpipe get`. */
import { applyFiles, getResources } from '../../shared/cli/resources-command.ts';
import type { QpipeConfig } from '../../shared/config.ts';
import { writeOut } from '../terminal.ts';

/** Stores the files' budgets, backends and ConfigMaps. */
export async function applyCommand(
  files: readonly string[],
  options: { config: QpipeConfig; output: 'text' | 'json' },
): Promise<number> {
  const applied = await applyFiles(files, options.config);
  if (options.output === 'json') writeOut(`${JSON.stringify(applied, null, 2)}\n`);
  else for (const resource of applied) writeOut(`${resource} configured\n`);
  return 0;
}

/** Lists one kind as a table (or JSON), optionally in one namespace. */
export async function getCommand(
  kind: string,
  options: { config: QpipeConfig; output: 'text' | 'json'; namespace?: string },
): Promise<number> {
  const rows = (await getResources(kind, options.config)).filter(
    (r) => options.namespace === undefined || r.namespace === options.namespace,
  );
  if (options.output === 'json') {
    writeOut(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    writeOut(`no ${kind} found\n`);
    return 0;
  }
  const columns = Object.keys(rows[0] ?? {});
  const table = [columns.map((c) => c.toUpperCase()), ...rows.map((r) => columns.map((c) => String(r[c] ?? '')))];
  const widths = columns.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  for (const row of table)
    writeOut(
      `${row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()}\n`,
    );
  return 0;
}

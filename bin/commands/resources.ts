/** Prints `qpipe apply`, `get`, `describe` and `delete` as kubectl users expect them. */
import { stringify } from 'yaml';
import { readAudit } from '../../shared/cli/audit-command.ts';
import {
  applyFiles,
  columnsOf,
  deleteObject,
  listObjects,
  objectName,
  type StoredKindName,
  type StoredObject,
} from '../../shared/cli/resources-command.ts';
import type { QpipeConfig } from '../../shared/config.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { writeErr, writeOut } from '../terminal.ts';

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

/** What `get` prints: a table (wide: more columns), the objects as JSON or YAML, or their names. */
export type GetFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

/** Which namespaces: one (kubectl's default: "default"), or all (-A). */
export type Scope = { readonly namespace: string } | { readonly all: true };

const where = (scope: Scope) => ('all' in scope ? '' : ` in ${scope.namespace} namespace`);

/** kubectl's table: upper-case headers, columns three spaces apart, NAMESPACE first with -A. */
function table(rows: readonly Record<string, string>[]): string {
  const columns = Object.keys(rows[0] ?? {});
  const cells = [columns.map((c) => c.toUpperCase()), ...rows.map((r) => columns.map((c) => r[c] ?? ''))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

function print(objects: readonly StoredObject[], kind: StoredKindName, format: GetFormat, scope: Scope, one: boolean) {
  if (format === 'json' || format === 'yaml') {
    const value = one ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
    writeOut(format === 'json' ? `${JSON.stringify(value, null, 4)}\n` : stringify(value));
    return;
  }
  if (format === 'name') {
    for (const o of objects) writeOut(`${objectName(kind, o.metadata.name)}\n`);
    return;
  }
  const rows = objects.map((o) => ({
    ...('all' in scope ? { namespace: o.metadata.namespace } : {}),
    name: o.metadata.name,
    ...columnsOf(kind, o, format === 'wide'),
  }));
  writeOut(`${table(rows)}\n`);
}

/** Lists one kind, or shows one object of it; exit 1 when a named object is not there. */
export async function getCommand(
  kind: StoredKindName,
  name: string | undefined,
  options: { config: QpipeConfig; format: GetFormat; scope: Scope },
): Promise<number> {
  const namespace = 'all' in options.scope ? undefined : options.scope.namespace;
  const objects = (
    await listObjects(kind, options.config, {
      ...(namespace === undefined ? {} : { namespace }),
      ...(name === undefined ? {} : { name }),
    })
  ).sort(
    (a, b) =>
      a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name),
  );
  if (name !== undefined && objects.length === 0) {
    writeErr(`qpipe: ${kind.replace(/s$/, '')} "${name}" not found${where(options.scope)}\n`);
    return 1;
  }
  if (objects.length === 0) {
    if (options.format === 'json' || options.format === 'yaml') print([], kind, options.format, options.scope, false);
    else writeErr(`No ${kind} found${where(options.scope)}.\n`);
    return 0;
  }
  print(objects, kind, options.format, options.scope, name !== undefined);
  return 0;
}

const indent = (text: string, by = '  ') =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => `${by}${line}`)
    .join('\n');

/** An object in full: spec, status with its conditions, and for a job what its audit record says happened. */
export async function describeCommand(
  kind: StoredKindName,
  name: string,
  options: { config: QpipeConfig; namespace: string },
): Promise<number> {
  const [object] = await listObjects(kind, options.config, { namespace: options.namespace, name });
  if (!object) {
    writeErr(`qpipe: ${kind.replace(/s$/, '')} "${name}" not found in ${options.namespace} namespace\n`);
    return 1;
  }
  const { conditions, ...status } = (object.status ?? {}) as { conditions?: Record<string, string>[] };
  const lines = [`Name:         ${name}`, `Namespace:    ${object.metadata.namespace}`, `Kind:         ${object.kind}`];
  if (object.spec !== undefined) lines.push('Spec:', indent(stringify(object.spec)));
  if (Object.keys(status).length > 0) lines.push('Status:', indent(stringify(status)));
  if (conditions && conditions.length > 0) {
    lines.push(
      'Conditions:',
      indent(
        table(
          conditions.map((c) => ({
            type: c['type'] ?? '',
            status: c['status'] ?? '',
            reason: c['reason'] ?? '',
            message: c['message'] ?? '',
          })),
        ),
      ),
    );
  }
  if (kind === 'jobs') {
    const audit = await readAudit(options.namespace, name, options.config).catch(() => undefined);
    const runs = audit?.kind === 'QiskitJob' ? audit.runs : [];
    const events = runs.flatMap(({ entries }) => entries.map((e) => ({ at: e.at, by: e.by, what: e.detail })));
    lines.push('Events:', events.length === 0 ? '  <none>' : indent(table(events)));
  }
  writeOut(`${lines.join('\n')}\n`);
  return 0;
}

/** Deletes stored objects by name, as kubectl says it; exit 1 when one was not there or could not go. */
export async function deleteCommand(
  kind: StoredKindName,
  names: readonly string[],
  options: { config: QpipeConfig; namespace: string },
): Promise<number> {
  let missing = 0;
  for (const name of names) {
    let deleted: boolean;
    try {
      deleted = await deleteObject(kind, options.namespace, name, options.config);
    } catch (error) {
      // A job still running is refused by name; the other names are still deleted.
      if (!(error instanceof InvalidInputError)) throw error;
      writeErr(`qpipe: ${error.message}\n`);
      missing++;
      continue;
    }
    if (deleted) {
      writeOut(`${objectName(kind, name).replace(/\/(.*)$/, ' "$1"')} deleted\n`);
    } else {
      writeErr(`qpipe: ${kind.replace(/s$/, '')} "${name}" not found in ${options.namespace} namespace\n`);
      missing++;
    }
  }
  return missing === 0 ? 0 : 1;
}

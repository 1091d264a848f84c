/** `qpipe audit`: the audit record of a job's runs, or of a budget's or backend's changes, from the deployment's store. */
import { type AuditRecord, auditFolder, auditRecords, StoredAuditEntry } from '../audit.ts';
import type { QpipeConfig } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import { type AuditedKind, readResourceChanges, type ResourceChange } from '../resource-audit.ts';
import { createDeployedPorts } from '../runtime/deployed-ports.ts';
import { readDocument } from '../storage/documents.ts';

/** What `qpipe audit` names: a job by its name, a budget or backend as `budget/<name>`, `backend/<name>`. */
const KINDS: Readonly<Record<string, AuditedKind>> = {
  budget: 'QiskitBudget',
  qiskitbudget: 'QiskitBudget',
  backend: 'QiskitBackend',
  qiskitbackend: 'QiskitBackend',
};

/** What the audit trail holds of the named object. */
export type AuditAnswer =
  | { readonly kind: 'QiskitJob'; readonly runs: AuditRecord[] }
  | { readonly kind: AuditedKind; readonly changes: ResourceChange[] };

/** The record of the named job (its runs, oldest first), budget or backend (its changes, oldest first). */
export async function readAudit(namespace: string, target: string, config: QpipeConfig): Promise<AuditAnswer> {
  const { store } = await createDeployedPorts(config, { budgets: [], backends: [], configMaps: [] });
  const slash = target.indexOf('/');
  if (slash >= 0) {
    const kind = KINDS[target.slice(0, slash).toLowerCase()];
    if (!kind) {
      throw new InvalidInputError(target, 'name a job, or a budget or backend as budget/<name> or backend/<name>');
    }
    const name = target.slice(slash + 1);
    const changes = await readResourceChanges(store, kind, namespace, name);
    if (changes.length === 0)
      throw new InvalidInputError(`${namespace}/${name}`, `no recorded change of such a ${kind}`);
    return { kind, changes };
  }
  const entries: StoredAuditEntry[] = [];
  for (const key of await store.list(auditFolder(namespace, target))) {
    const stored = await readDocument(store, key, StoredAuditEntry);
    if (stored) entries.push(stored);
  }
  if (entries.length === 0) {
    throw new InvalidInputError(`${namespace}/${target}`, 'no audit record of such a job in the store');
  }
  return { kind: 'QiskitJob', runs: auditRecords(entries) };
}

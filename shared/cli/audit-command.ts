/** `qpipe audit`: the audit records of every run of a job, from the deployment's store. */
import { type AuditRecord, auditFolder, auditRecords, StoredAuditEntry } from '../audit.ts';
import type { QpipeConfig } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import { createDeployedPorts } from '../runtime/deployed-ports.ts';
import { readDocument } from '../storage/documents.ts';

/** The runs of the job of that name, oldest first. */
export async function readAudit(namespace: string, name: string, config: QpipeConfig): Promise<AuditRecord[]> {
  const { store } = await createDeployedPorts(config, { budgets: [], backends: [], configMaps: [] });
  const entries: StoredAuditEntry[] = [];
  for (const key of await store.list(auditFolder(namespace, name))) {
    const stored = await readDocument(store, key, StoredAuditEntry);
    if (stored) entries.push(stored);
  }
  if (entries.length === 0)
    throw new InvalidInputError(`${namespace}/${name}`, 'no audit record of such a job in the store');
  return auditRecords(entries);
}

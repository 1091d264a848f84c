/** `qpipe audit`: the audit records of every run of a job, from the deployment's store. */
import { AuditRecord, auditFolder } from '../audit.ts';
import type { QpipeConfig } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import { createDeployedPorts } from '../runtime/deployed-ports.ts';
import { readDocument } from '../storage/documents.ts';

/** The runs of the job of that name, oldest first. */
export async function readAudit(namespace: string, name: string, config: QpipeConfig): Promise<AuditRecord[]> {
  const { store } = await createDeployedPorts(config, { budgets: [], backends: [], configMaps: [] });
  const records: AuditRecord[] = [];
  for (const key of await store.list(auditFolder(namespace, name))) {
    const record = await readDocument(store, key, AuditRecord);
    if (record) records.push(record);
  }
  if (records.length === 0)
    throw new InvalidInputError(`${namespace}/${name}`, 'no audit record of such a job in the store');
  return records.sort((a, b) => (a.entries[0]?.at ?? '').localeCompare(b.entries[0]?.at ?? ''));
}

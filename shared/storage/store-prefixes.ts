/**
 * Every top-level prefix qpipe keeps in its store (a bucket, or the local folder): the AWS
 * stack scopes list permission to them, and `qpipe reset` deletes exactly these.
 */
export const STORE_PREFIXES = [
  'runs/',
  'circuits/',
  'ledgers/',
  'held/',
  'status/',
  'tasks/',
  'claims/',
  'notifications/',
  'scheduled/',
  'dead-letters/',
  'events/',
  'resources/',
  'resources-changed',
  'resync/',
  'outbox/',
  'bridge/',
  'attempts/',
  'sessions/',
  'audit/',
  'backups/',
  // Results at a job's own spec.output.path, and what qpipe serve acknowledged before handling.
  'outputs/',
  'inbox/',
] as const;

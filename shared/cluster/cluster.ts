/**
 * The cluster port: reading the resources a job refers to, and writing status. On
 * Kubernetes it is the API server; on the embedded default, manifests from files and
 * status in the local store.
 */
import type { JobRef } from '../../events/schemas.ts';
import type {
  QiskitBackend,
  QiskitBudget,
  QiskitBudgetStatus,
  QiskitJobStatus,
  QiskitSession,
  QiskitSessionStatus,
} from '../resources/schema.ts';

/** The identity of an object as the cluster holds it now. */
export interface HeldObject {
  readonly uid: string;
  readonly generation: number;
  /** Its annotations: `quantum.io/requested-by` is the user the admission policy stamped. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Its spec, for the audit record of a change. */
  readonly spec?: unknown;
}

/** Kinds whose API-server events a stage acts on only once the cluster confirms them. */
export type CheckedKind = 'QiskitJob' | 'QiskitSession' | 'QiskitBudget' | 'QiskitBackend';

/** Reads resources a job refers to. */
export interface ClusterReader {
  /**
   * The object of that kind and name as the cluster holds it now (undefined: none), or
   * 'unverifiable' where the cluster keeps no such objects (the embedded default and the
   * store): an API-server event about one cannot be checked there.
   */
  findObject(kind: CheckedKind, namespace: string, name: string): Promise<HeldObject | undefined | 'unverifiable'>;
  /** The named budget of a namespace. */
  findBudget(namespace: string, name: string): Promise<QiskitBudget | undefined>;
  /** Every budget of a namespace. */
  listBudgets(namespace: string): Promise<QiskitBudget[]>;
  listBackends(): Promise<QiskitBackend[]>;
  /** The named QiskitSession of a namespace. */
  findSession(namespace: string, name: string): Promise<QiskitSession | undefined>;
  /** A key of a ConfigMap (circuit.configMapRef), or undefined when either is missing. */
  readConfigMapKey(namespace: string, name: string, key: string): Promise<string | undefined>;
}

/** Computes the next status from the current one; undefined means "leave it as it is". */
export type StatusChange = (current: QiskitJobStatus | undefined) => QiskitJobStatus | undefined;

/** Writes status; jobs only through collect-results, budgets only through enforce-budget, sessions only through execute. */
export interface StatusWriter {
  /** Applies a change to a job's status atomically (retrying on conflicting writers). */
  updateJobStatus(job: JobRef, change: StatusChange): Promise<QiskitJobStatus | undefined>;
  /** The status of the job of that name, or of the job object `uid` when given (another run may reuse the name). */
  readJobStatus(namespace: string, name: string, uid?: string): Promise<QiskitJobStatus | undefined>;
  writeBudgetStatus(namespace: string, name: string, status: QiskitBudgetStatus): Promise<void>;
  readBudgetStatus(namespace: string, name: string): Promise<QiskitBudgetStatus | undefined>;
  writeSessionStatus(namespace: string, name: string, status: QiskitSessionStatus): Promise<void>;
  readSessionStatus(namespace: string, name: string): Promise<QiskitSessionStatus | undefined>;
}

/** Everything a stage may need of the cluster. */
export type Cluster = ClusterReader & StatusWriter;

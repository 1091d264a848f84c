/** In-memory implementations of the ports, for unit tests of stage logic. */
import { DeviceStatusCache } from '../../shared/backends/device-status.ts';
import { RecentEvents } from '../../shared/idempotency/recent-events.ts';
import { logger } from '../../shared/observability/log.ts';
import type { CloudEvent } from 'cloudevents';
import { parseEvent, type AnyTypedEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { ledgerKey } from '../../shared/budget/ledger-store.ts';
import { reservationExpiry, runAllowanceMs, timeLimitsOf } from '../../shared/budget/reservation-terms.ts';
import { createLocalSimulatorExecutor } from '../../shared/backends/local-simulator.ts';
import { EMPTY_LEDGER, type LedgerState, reservationEntry } from '../../shared/budget/ledger.ts';
import type { LedgerStore, VersionedLedger } from '../../shared/budget/ledger-store.ts';
import type { CheckedKind, HeldObject } from '../../shared/cluster/cluster.ts';
import { LocalCluster, type LocalResources } from '../../shared/cluster/local-cluster.ts';
import { loadConfig, type QpipeConfig } from '../../shared/config.ts';
import type { Mailer, MailMessage } from '../../shared/mail/mailer.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { RunningWork } from '../../shared/runtime/running-work.ts';
import { contentVersion, type ObjectStore } from '../../shared/storage/object-store.ts';

/** Objects in a Map. */
export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, Uint8Array>();

  async put(key: string, body: string | Uint8Array): Promise<void> {
    this.objects.set(key, typeof body === 'string' ? Buffer.from(body) : body);
  }

  async putIfAbsent(key: string, body: string | Uint8Array): Promise<boolean> {
    if (this.objects.has(key)) return false;
    await this.put(key, body);
    return true;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.objects.get(key);
  }

  async getVersioned(key: string): Promise<{ body: Uint8Array; version: string } | undefined> {
    const body = this.objects.get(key);
    return body === undefined ? undefined : { body, version: contentVersion(body) };
  }

  async putIfVersion(key: string, body: string | Uint8Array, version: string | undefined): Promise<boolean> {
    const current = this.objects.get(key);
    if ((current === undefined ? undefined : contentVersion(current)) !== version) return false;
    await this.put(key, body);
    return true;
  }

  async list(prefix: string, limit = Number.POSITIVE_INFINITY): Promise<string[]> {
    return [...this.objects.keys()]
      .filter((key) => key.startsWith(prefix))
      .sort()
      .slice(0, limit);
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  locate(key: string): string {
    return `memory://${key}`;
  }
}

/** Ledgers in a Map, with a version counter for compare-and-swap. */
export class MemoryLedgerStore implements LedgerStore {
  readonly ledgers = new Map<string, { version: number; state: LedgerState }>();

  async read(key: string): Promise<VersionedLedger> {
    const entry = this.ledgers.get(key);
    return entry ? { state: entry.state, version: String(entry.version) } : { state: EMPTY_LEDGER, version: undefined };
  }

  async compareAndSwap(key: string, expected: string | undefined, state: LedgerState): Promise<boolean> {
    const entry = this.ledgers.get(key);
    if ((entry ? String(entry.version) : undefined) !== expected) return false;
    this.ledgers.set(key, { version: (entry?.version ?? 0) + 1, state });
    return true;
  }

  async list(): Promise<string[]> {
    return [...this.ledgers.keys()].sort();
  }
}

/** Keeps sent messages; can be told to fail the next sends. */
export class RecordingMailer implements Mailer {
  readonly sent: MailMessage[] = [];
  failures = 0;

  async send(message: MailMessage): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('SMTP server unavailable');
    }
    this.sent.push(message);
  }
}

/** A fixed instant for tests that depend on the date. */
export const FROZEN_NOW = new Date('2026-11-15T12:00:00Z');

/** Ports over memory, with the local simulator, for stage unit tests. */
export function memoryPorts(
  resources: Partial<LocalResources> = {},
  overrides: Partial<Ports> = {},
): Ports & { store: MemoryObjectStore; ledger: MemoryLedgerStore; mailer: RecordingMailer } {
  const config: QpipeConfig = loadConfig({ QPIPE_SIMULATOR_MAX_MEMORY: '1GiB' });
  const store = new MemoryObjectStore();
  return {
    config,
    store,
    cluster: new LocalCluster({ budgets: [], backends: [], configMaps: [], ...resources }, store),
    ledger: new MemoryLedgerStore(),
    executors: { local_simulator: createLocalSimulatorExecutor(config.simulator) },
    mailer: new RecordingMailer(),
    now: () => FROZEN_NOW,
    log: logger(),
    deviceStatus: new DeviceStatusCache(),
    recentEvents: new RecentEvents(),
    running: new RunningWork(),
    ...overrides,
  } as Ports & { store: MemoryObjectStore; ledger: MemoryLedgerStore; mailer: RecordingMailer };
}

/** Parses an emitted CloudEvent back into a typed event, as the next stage would. */
export function received(event: CloudEvent<unknown>): AnyTypedEvent {
  return parseEvent(event);
}

/** An object an API server holds, as `withHeldObjects` serves it. */
export interface HeldEntry extends HeldObject {
  readonly kind: CheckedKind;
  readonly namespace: string;
  readonly name: string;
}

/**
 * The ports with a cluster that answers `findObject` as an API server holding exactly these
 * objects would (the local cluster holds none it could vouch for); everything else is the
 * ports' own cluster.
 */
export function withHeldObjects<P extends Ports>(ports: P, objects: readonly HeldEntry[]): P {
  const findObject = (kind: CheckedKind, namespace: string, name: string) =>
    Promise.resolve(objects.find((o) => o.kind === kind && o.namespace === namespace && o.name === name));
  const cluster = Object.assign(Object.create(ports.cluster) as Ports['cluster'], { findObject });
  return { ...ports, cluster };
}

/**
 * The approved event, with the reservation enforce-budget made for it recorded in the ports'
 * ledger, for tests that start at execute (which runs a budgeted job only on a standing reservation).
 */
export async function reserved(
  ports: Pick<Ports, 'ledger' | 'now' | 'config'>,
  event: CloudEvent<unknown>,
): Promise<CloudEvent<unknown>> {
  const approved = parseEvent(event);
  if (approved.type !== EventType.JobApproved || !approved.data.budget) return event;
  const { job, budget, estimate } = approved.data;
  const key = ledgerKey(budget);
  const { state, version } = await ports.ledger.read(key);
  const expiresAt = reservationExpiry(
    ports.now().getTime(),
    runAllowanceMs(approved.data.backend.type, timeLimitsOf(ports.config)),
  );
  const entry = reservationEntry(`${job.namespace}/${job.name}`, estimate.totalMicros, { expiresAt });
  const next = { ...state, reservations: { ...state.reservations, [`${job.uid}/${job.generation}`]: entry } };
  if (!(await ports.ledger.compareAndSwap(key, version, next))) throw new Error(`ledger ${key} changed meanwhile`);
  return event;
}

/**
 * Live device facts for selection, read through each provider's API and reused for a
 * short while, so a burst of jobs costs one status call per device, not one per job. A
 * provider that does not answer leaves the device's status unknown rather than failing
 * selection.
 */
import type { BackendType } from '../resources/schema.ts';
import type { BackendEntry, BackendExecutor, DeviceStatus } from './backend.ts';

/** A status, or why it could not be read. */
export type StatusReading = { readonly status: DeviceStatus } | { readonly error: string };

/** Cached readings by backend name. */
export class DeviceStatusCache {
  private readonly readings = new Map<string, { reading: StatusReading; expires: number }>();

  /** Readings for every backend whose executor reports status, at most `ttlMs` old. */
  async read(
    backends: readonly BackendEntry[],
    executors: Partial<Record<BackendType, BackendExecutor>>,
    options: { ttlMs: number; now: number },
  ): Promise<Map<string, StatusReading>> {
    const out = new Map<string, StatusReading>();
    await Promise.all(
      backends.map(async (backend) => {
        const executor = executors[backend.type];
        if (!executor?.status || !backend.enabled) return;
        const key = `${backend.type}/${backend.name}/${backend.deviceId ?? ''}`;
        const cached = this.readings.get(key);
        if (cached && cached.expires > options.now) {
          out.set(backend.name, cached.reading);
          return;
        }
        let reading: StatusReading;
        try {
          reading = { status: await executor.status(backend) };
        } catch (error) {
          reading = { error: error instanceof Error ? error.message : String(error) };
        }
        this.readings.set(key, { reading, expires: options.now + options.ttlMs });
        out.set(backend.name, reading);
      }),
    );
    return out;
  }
}

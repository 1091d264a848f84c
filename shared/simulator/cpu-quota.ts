/**
 * The cores this process may use: the container's CPU quota (cgroup v2 `cpu.max`, or v1's
 * `cpu.cfs_quota_us` over `cpu.cfs_period_us`) where one is set, else the cores Node sees. A
 * pod limited to 2 CPUs on a 64-core node must not start 64 simulator threads.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Whole cores, at least 1. */
export function cpuQuota(): number {
  const cores = availableParallelism();
  const v2 = read('/sys/fs/cgroup/cpu.max')?.split(/\s+/);
  let quota: number | undefined;
  if (v2 && v2[0] !== 'max') quota = Number(v2[0]) / Number(v2[1]);
  else if (!v2) {
    const [q, p] = [read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')];
    if (q !== undefined && p !== undefined && Number(q) > 0) quota = Number(q) / Number(p);
  }
  return quota !== undefined && Number.isFinite(quota) && quota > 0
    ? Math.max(1, Math.min(cores, Math.ceil(quota)))
    : cores;
}

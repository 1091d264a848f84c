/**
 * An exclusive lock file (O_EXCL) for check-and-write steps on local files, safe across
 * processes of one machine. The lock holds its owner's pid, so a lock left by a process that
 * died (kill -9) is broken at once; any other is broken only once it is stale.
 */
import { randomUUID } from 'node:crypto';
import { link, readFile, rm, stat, writeFile } from 'node:fs/promises';

const STALE_LOCK_MS = 10_000;

/** Whether a process of this machine is running; an unreadable holder counts as alive. */
function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Takes the lock, or returns false when another holder has it (the caller retries). */
export async function tryLock(lock: string): Promise<boolean> {
  // Written beside, then linked into place: the lock appears with its owner in it, so a process
  // killed between creating and filling it cannot leave an empty lock that looks alive.
  const written = `${lock}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await writeFile(written, String(process.pid));
    await link(written, lock);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const [info, holder] = await Promise.all([
      stat(lock).catch(() => undefined),
      readFile(lock, 'utf8').catch(() => ''),
    ]);
    if ((info && Date.now() - info.mtimeMs > STALE_LOCK_MS) || !processAlive(Number(holder))) {
      await rm(lock, { force: true });
    }
    return false;
  } finally {
    await rm(written, { force: true });
  }
}

/** Gives the lock back. */
export async function unlock(lock: string): Promise<void> {
  await rm(lock, { force: true });
}

/**
 * An exclusive lock file (O_EXCL) for check-and-write steps on local files, safe across
 * processes of one machine. The lock holds its owner's pid, so a lock left by a process that
 * died (kill -9) is broken at once; any other is broken only once it is stale.
 */
import { open, readFile, rm, stat } from 'node:fs/promises';

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
  try {
    const handle = await open(lock, 'wx');
    await handle.writeFile(String(process.pid));
    await handle.close();
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
  }
}

/** Gives the lock back. */
export async function unlock(lock: string): Promise<void> {
  await rm(lock, { force: true });
}

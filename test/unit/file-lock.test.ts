import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tryLock, unlock } from '../../shared/storage/file-lock.ts';

describe('lock files (real files, real processes)', () => {
  it('holds its owner pid from the moment it exists, and leaves nothing else behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-lock-'));
    const lock = join(dir, 'x.lock');
    expect(await tryLock(lock)).toBe(true);
    expect(await tryLock(lock)).toBe(false);
    expect(await readdir(dir)).toEqual(['x.lock']);
    await unlock(lock);
    expect(await tryLock(lock)).toBe(true);
  });

  it('breaks at once a lock whose owner died (kill -9), and keeps one whose owner lives', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-lock-'));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await writeFile(join(dir, 'dead.lock'), dead.stdout);
    expect(await tryLock(join(dir, 'dead.lock'))).toBe(false); // found held, and broken
    expect(await tryLock(join(dir, 'dead.lock'))).toBe(true);
    await writeFile(join(dir, 'live.lock'), String(process.pid));
    expect(await tryLock(join(dir, 'live.lock'))).toBe(false);
    expect(await tryLock(join(dir, 'live.lock'))).toBe(false);
  });
});

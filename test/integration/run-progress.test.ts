/**
 * What `qpipe run` tells while it runs (shared/cli/run-command.ts, bin/commands/progress.ts):
 * how many jobs finished of how many from the start, and what a waiting job waits for and
 * until when (once "0 of ? jobs finished" with no reason). Real embedded pipeline, local store.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startProgress } from '../../bin/commands/progress.ts';
import { ALL_STAGES } from '../../functions/stages.ts';
import { runJobFiles } from '../../shared/cli/run-command.ts';
import { loadConfig } from '../../shared/config.ts';

const DEMO = new URL('../../examples/budget-demo.yaml', import.meta.url).pathname;

describe('run progress', () => {
  afterEach(() => vi.useRealTimers());

  it('counts jobs from the start and names the job held for budget, its budget and deadline', async () => {
    const config = loadConfig({}, { storeDir: await mkdtemp(join(tmpdir(), 'qpipe-progress-')) });
    const calls: { finished: number; total: number; waiting: readonly string[] }[] = [];
    await runJobFiles([DEMO], {
      config,
      stages: ALL_STAGES,
      onProgress: (finished, total, waiting) => calls.push({ finished, total, waiting }),
    });
    expect(calls[0]).toEqual({ finished: 0, total: 4, waiting: [] });
    const held = calls.find((c) => c.waiting.length > 0);
    expect(held?.waiting[0]).toMatch(
      /^budget-demo\/demo-[a-z-]+ waits for budget budget-demo\/demo until \d{2}:\d{2}:\d{2} UTC$/,
    );
    expect(calls.at(-1)).toEqual({ finished: 4, total: 4, waiting: [] });
  }, 30_000);

  it('prints the count and the first reason on a terminal, after a second', () => {
    vi.useFakeTimers();
    let written = '';
    const stream = { isTTY: true, write: (text: string) => (written += text) } as unknown as NodeJS.WriteStream;
    const progress = startProgress(stream);
    progress.update(3, 4, ['a/b waits for budget a/team until 10:00:00 UTC', 'a/c waits for budget a/team']);
    vi.advanceTimersByTime(1200);
    progress.stop();
    expect(written).toMatch(
      /3 of 4 jobs finished; a\/b waits for budget a\/team until 10:00:00 UTC \(\+1 more\) \(1\.\d+s\)/,
    );
  });
});

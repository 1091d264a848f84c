/** A progress line on stderr for runs longer than a second (terminals only). */

/** Starts the indicator; `update` reports finished jobs and what others wait for, `stop` clears the line. */
export function startProgress(stream: NodeJS.WriteStream = process.stderr): {
  update: (finished: number, total: number, waiting: readonly string[]) => void;
  stop: () => void;
} {
  const started = Date.now();
  let finished = 0;
  let total = 0;
  let waits: readonly string[] = [];
  let shown = false;
  const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  let frame = 0;
  const timer = stream.isTTY
    ? setInterval(() => {
        if (Date.now() - started < 1000) return;
        shown = true;
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        const why = waits.length === 0 ? '' : `; ${waits[0]}${waits.length > 1 ? ` (+${waits.length - 1} more)` : ''}`;
        stream.write(
          `\r${frames[frame++ % frames.length]} ${finished} of ${total} jobs finished${why} (${seconds}s)\u001b[K`,
        );
      }, 100)
    : undefined;
  timer?.unref();
  return {
    update: (done, all, waiting) => {
      finished = done;
      total = all;
      waits = waiting;
    },
    stop: () => {
      if (timer) clearInterval(timer);
      if (shown) stream.write('\r\u001b[K');
    },
  };
}

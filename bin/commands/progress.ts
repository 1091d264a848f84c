/** A progress line on stderr for runs longer than a second (terminals only). */

/** Starts the indicator; `update` reports finished jobs, `stop` clears the line. */
export function startProgress(stream: NodeJS.WriteStream = process.stderr): {
  update: (finished: number, total: number) => void;
  stop: () => void;
} {
  const started = Date.now();
  let finished = 0;
  let total = 0;
  let shown = false;
  const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  let frame = 0;
  const timer = stream.isTTY
    ? setInterval(() => {
        if (Date.now() - started < 1000) return;
        shown = true;
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        stream.write(
          `\r${frames[frame++ % frames.length]} ${finished} of ${total || '?'} jobs finished (${seconds}s)\u001b[K`,
        );
      }, 100)
    : undefined;
  timer?.unref();
  return {
    update: (done, all) => {
      finished = done;
      total = all;
    },
    stop: () => {
      if (timer) clearInterval(timer);
      if (shown) stream.write('\r\u001b[K');
    },
  };
}

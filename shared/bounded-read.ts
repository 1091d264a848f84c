/** Reads a local file only up to a size limit, so a huge file (or /dev/zero) costs at most the limit. */
import { type FileHandle, open } from 'node:fs/promises';
import { InvalidInputError, LimitExceededError } from './errors.ts';

const unreadable = (path: string, error: unknown) =>
  new InvalidInputError(path, `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);

/** The file's text; a file over `maxBytes` is refused naming the limit's setting, before it is parsed. */
export async function readFileWithin(path: string, maxBytes: number, setting: string): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw unreadable(path, error);
  }
  const tooLarge = (size: string) =>
    new LimitExceededError(path, `the file is ${size} bytes; the limit is ${maxBytes} (${setting})`);
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw tooLarge(String(size));
    // Devices and pipes report no size: read in chunks, stopping one chunk past the limit.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      length += bytesRead;
      if (length > maxBytes) throw tooLarge(`more than ${maxBytes}`);
    }
    return Buffer.concat(chunks, length).toString('utf8');
  } catch (error) {
    throw error instanceof InvalidInputError ? error : unreadable(path, error);
  } finally {
    await handle.close();
  }
}

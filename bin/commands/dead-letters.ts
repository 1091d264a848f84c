/** Prints `qpipe dead-letters list|replay`. */
import {
  type DeadLetter,
  type DeadLetterSource,
  listDeadLetters,
  replayDeadLetters,
} from '../../shared/cli/dead-letters-command.ts';
import type { QpipeConfig } from '../../shared/config.ts';
import { writeOut } from '../terminal.ts';

function print(letters: readonly DeadLetter[], output: 'text' | 'json', verb: string): void {
  if (output === 'json') {
    writeOut(`${JSON.stringify(letters, null, 2)}\n`);
    return;
  }
  for (const l of letters) {
    const what = `${l.type}  ${l.subject ?? ''}  from ${l.source ?? '?'}${l.reason ? `  (${l.reason})` : ''}  ${l.id}`;
    writeOut(l.kept === undefined ? `${verb}${what}\n` : `kept ${what}: ${l.kept}\n`);
  }
  writeOut(`${letters.length} dead letter${letters.length === 1 ? '' : 's'}\n`);
}

/** Lists, or replays, the dead letters of the store or of an SQS queue. */
export async function deadLettersCommand(
  action: 'list' | 'replay',
  options: {
    config: QpipeConfig;
    output: 'text' | 'json';
    from: DeadLetterSource;
    to?: { url: string } | { bus: string };
  },
): Promise<number> {
  if (action === 'list') {
    print(await listDeadLetters(options.from, options.config), options.output, '');
    return 0;
  }
  const letters = await replayDeadLetters(options.from, options.to as { url: string }, options.config);
  print(letters, options.output, 'replayed ');
  // A letter replay refused stays for a person to look at: the command says so by its exit code.
  return letters.some((l) => l.kept !== undefined) ? 1 : 0;
}

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
    writeOut(
      `${verb}${l.type}  ${l.subject ?? ''}  from ${l.source ?? '?'}${l.reason ? `  (${l.reason})` : ''}  ${l.id}\n`,
    );
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
  print(
    await replayDeadLetters(options.from, options.to as { url: string }, options.config),
    options.output,
    'replayed ',
  );
  return 0;
}

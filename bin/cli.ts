/**
 * The `qpipe` command line. Thin: it parses arguments, loads only the modules the
 * command needs, prints, and sets the exit code. The logic lives in shared/.
 */
import { parseArgs } from 'node:util';
import {
  COMMANDS,
  commandHelp,
  GLOBAL_OPTIONS,
  type OptionName,
  OPTIONS,
  parserOptions,
  usage,
} from './commands/specs.ts';
import type { GetFormat } from './commands/resources.ts';
import { UsageError } from './commands/usage-error.ts';
import { closeMatches } from '../shared/close-matches.ts';
import { writeErr, writeOut } from './terminal.ts';

const ALL_OPTIONS: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = OPTIONS;

function unknownCommand(command: string): string {
  const near = closeMatches(command, COMMANDS);
  return `unknown command "${command}"${near.length > 0 ? `; did you mean ${near.map((c) => `"${c}"`).join(' or ')}?` : ''}`;
}

/** An option the command does not take: named, with what it does take, or the option meant by a typo. */
function unknownOption(command: string | undefined, option: string): string {
  const takes = Object.keys(parserOptions(command)).filter((o) => !GLOBAL_OPTIONS.includes(o as OptionName));
  const near = closeMatches(option, takes);
  const known = option in ALL_OPTIONS;
  const where = command === undefined ? 'qpipe' : `qpipe ${command}`;
  if (near.length > 0)
    return `${where}: unknown option --${option}; did you mean ${near.map((o) => `--${o}`).join(' or ')}?`;
  if (takes.length === 0) return `${where}: unknown option --${option}`;
  const list = takes.map((o) => `--${o}`).join(', ');
  return known
    ? `${where} does not take --${option} (it takes ${list})`
    : `${where}: unknown option --${option} (it takes ${list})`;
}

function wholeNumber(value: string | undefined, flag: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number (got "${value}")`);
  return n;
}

function outputFormat(value: string | undefined): 'text' | 'json' {
  if (value === undefined || value === 'text' || value === 'json') return value ?? 'text';
  throw new UsageError(`--output must be text or json (got "${value}")`);
}

function inputs(values: readonly string[] | undefined): Record<string, number> {
  const result: Record<string, number> = {};
  for (const pair of values ?? []) {
    const match = /^([\p{L}_][\p{L}\p{N}_]*)=(.+)$/u.exec(pair);
    const value = Number(match?.[2]);
    if (!match || !Number.isFinite(value)) throw new UsageError(`--input takes NAME=NUMBER (got "${pair}")`);
    result[match[1] as string] = value;
  }
  return result;
}

async function readVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  // bin/cli.ts runs from the source tree or compiled from dist/bin/cli.js.
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(await readFile(new URL(candidate, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'qpipe' && pkg.version) return pkg.version;
    } catch {
      // Try the next location.
    }
  }
  return 'unknown';
}

/** A mistake in the command line itself, naming the command it was for. */
class CommandUsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** The option values the commands read (each command takes only its own, checked before). */
interface Values {
  [name: string]: string | boolean | string[] | undefined;
  output?: string;
  store?: string;
  shots?: string;
  seed?: string;
  probabilities?: boolean;
  top?: string;
  backend?: string;
  'optimization-level'?: string;
  input?: string[];
  stage?: string;
  to?: string;
  from?: string;
  bus?: string;
  namespace?: string;
  wait?: string;
  port?: string;
  host?: string;
  resources?: string[];
  debug?: boolean;
  file?: string[];
  queue?: string;
  interval?: string;
  once?: boolean;
  reason?: string;
  keep?: string;
  help?: boolean;
  version?: boolean;
}

/**
 * Parses the command line in two steps: which command (options with values consume theirs),
 * then that command's own options, strictly: an option it does not take is a usage error.
 */
function parseCommandLine(argv: readonly string[]): { values: Values; positionals: string[] } {
  const loose = parseArgs({
    args: [...argv],
    options: ALL_OPTIONS,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const named = loose.positionals[0];
  const command = named === 'help' ? loose.positionals[1] : named;
  const known = command !== undefined && COMMANDS.includes(command) ? command : undefined;
  if (command !== undefined && known === undefined && loose.values['help'] !== true) {
    throw new CommandUsageError(unknownCommand(command));
  }
  const allowed = parserOptions(known);
  for (const token of loose.tokens) {
    if (token.kind === 'option' && !(token.name in allowed))
      throw new CommandUsageError(unknownOption(known, token.name), known);
  }
  try {
    const strict = parseArgs({ args: [...argv], options: allowed, allowPositionals: true, strict: true });
    return { values: strict.values as Values, positionals: strict.positionals };
  } catch (error) {
    // parseArgs reads "--shots -3" as two options: say what to write instead.
    const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec((error as Error).message);
    const message = ambiguous
      ? `${ambiguous[1]} takes a value, and what follows looks like an option (write ${ambiguous[1]}=VALUE)`
      : (error as Error).message;
    throw new CommandUsageError(message, known);
  }
}

/** Runs the CLI with the given arguments; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    const hint = error instanceof CommandUsageError && error.command ? `qpipe ${error.command} --help` : 'qpipe --help';
    writeErr(`qpipe: ${(error as Error).message.replace(/^qpipe:? /, '')}\nRun "${hint}" for usage.\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const debug = values.debug === true;
  try {
    if (values.version) {
      writeOut(`${await readVersion()}\n`);
      return 0;
    }
    const [command, ...files] = positionals;
    const helpFor = command === 'help' ? files[0] : command;
    if (helpFor !== undefined && (values.help || command === 'help')) {
      if (!COMMANDS.includes(helpFor)) throw new UsageError(unknownCommand(helpFor));
      writeOut(commandHelp(helpFor));
      return 0;
    }
    if (values.help || command === undefined || command === 'help') {
      writeOut(usage());
      return command === undefined && !values.help ? 2 : 0;
    }
    if (!COMMANDS.includes(command)) throw new UsageError(unknownCommand(command));
    const output = ['transpile', 'get'].includes(command) ? 'text' : outputFormat(values.output);
    const { loadConfig } = await import('../shared/config.ts');
    const config = loadConfig(process.env, values.store === undefined ? {} : { storeDir: values.store });
    // Logs never go to stdout, which is the command's output (JSON included), but for serve's.
    const { configureCliLogging } = await import('../shared/observability/log.ts');
    configureCliLogging(command, process.env);
    switch (command) {
      case 'run': {
        if (files.length === 0) throw new UsageError('run needs at least one manifest file');
        const { runCommand } = await import('./commands/run.ts');
        return await runCommand(files, { config, output });
      }
      case 'serve': {
        const port = wholeNumber(values.port, '--port', 8080) as number;
        if (port > 65535) throw new UsageError('--port must be at most 65535');
        const { serveCommand } = await import('./commands/serve.ts');
        return await serveCommand({
          config,
          port,
          resources: [...(values.resources ?? []), ...files],
          host: values.host ?? '127.0.0.1',
          ...(values.stage === undefined ? {} : { stage: values.stage }),
        });
      }
      case 'submit': {
        if (files.length === 0) throw new UsageError('submit needs at least one manifest file');
        if ((values.to === undefined) === (values.bus === undefined))
          throw new UsageError('submit needs exactly one of --to URL or --bus NAME');
        if (values.to !== undefined && !URL.canParse(values.to))
          throw new UsageError(`--to takes a URL such as http://127.0.0.1:8080 (got "${values.to}")`);
        const { submitCommand } = await import('./commands/submit.ts');
        const to = values.to === undefined ? { bus: values.bus as string } : { url: values.to };
        return await submitCommand(files, { config, to, output });
      }
      case 'status': {
        if (files.length !== 1) throw new UsageError('status takes one job name');
        const { statusCommand } = await import('./commands/submit.ts');
        const waitSeconds = wholeNumber(values.wait, '--wait');
        return await statusCommand(files[0] as string, {
          config,
          output,
          namespace: values.namespace ?? 'default',
          ...(waitSeconds === undefined ? {} : { waitSeconds }),
        });
      }
      case 'cancel': {
        if (files.length !== 1) throw new UsageError('cancel takes one job name');
        if ((values.to === undefined) === (values.bus === undefined))
          throw new UsageError('cancel needs exactly one of --to URL or --bus NAME');
        const { cancelJob } = await import('../shared/cli/submit-command.ts');
        const namespace = values.namespace ?? 'default';
        const name = files[0] as string;
        const to = values.to === undefined ? { bus: values.bus as string } : { url: values.to };
        const reason = values.reason ?? 'cancelled with qpipe cancel';
        const id = await cancelJob({ namespace, name }, { config, to, reason });
        writeOut(`asked to cancel ${namespace}/${name} (event ${id})\n`);
        return 0;
      }
      case 'audit': {
        if (files.length !== 1) throw new UsageError('audit takes one job name');
        const { auditCommand } = await import('./commands/audit.ts');
        return await auditCommand(files[0] as string, { config, output, namespace: values.namespace ?? 'default' });
      }
      case 'apply': {
        const manifests = [...(values.file ?? []), ...files];
        if (manifests.length === 0) throw new UsageError('apply needs -f FILE');
        const { applyCommand } = await import('./commands/resources.ts');
        return await applyCommand(manifests, { config, output });
      }
      case 'get':
      case 'describe':
      case 'delete': {
        const [word, ...names] = files;
        const { resolveKind } = await import('../shared/cli/resources-command.ts');
        const kind = word === undefined ? undefined : resolveKind(word);
        if (kind === undefined) {
          throw new UsageError(
            `${command} takes a kind: budgets, backends, sessions or jobs (or qiskitbudget, qbud, …)${word === undefined ? '' : `; "${word}" is none of them`}`,
          );
        }
        const resources = await import('./commands/resources.ts');
        const namespace = values.namespace ?? 'default';
        if (command === 'get') {
          if (names.length > 1) throw new UsageError('get takes one name at most');
          if (values['all-namespaces'] === true && values.namespace !== undefined)
            throw new UsageError('get takes -n NS or -A, not both');
          const format = values.output ?? 'table';
          if (!['table', 'text', 'wide', 'json', 'yaml', 'name'].includes(format))
            throw new UsageError(`-o must be wide, json, yaml or name (got "${format}")`);
          return await resources.getCommand(kind, names[0], {
            config,
            format: (format === 'text' ? 'table' : format) as GetFormat,
            scope: values['all-namespaces'] === true ? { all: true } : { namespace },
          });
        }
        if (names.length === 0) throw new UsageError(`${command} needs a name: qpipe ${command} ${word} NAME`);
        if (command === 'describe') {
          if (names.length > 1) throw new UsageError('describe takes one name');
          return await resources.describeCommand(kind, names[0] as string, { config, namespace });
        }
        return await resources.deleteCommand(kind, names, { config, namespace });
      }
      case 'bridge': {
        if ((values.to === undefined) === (values.bus === undefined))
          throw new UsageError('bridge needs exactly one of --bus NAME or --to URL');
        const intervalSeconds = wholeNumber(values.interval, '--interval', 5) as number;
        if (intervalSeconds < 1) throw new UsageError('--interval must be at least 1');
        const { runBridge } = await import('../shared/cli/bridge-command.ts');
        await runBridge({
          config,
          to: values.to === undefined ? { bus: values.bus as string } : { url: values.to },
          intervalSeconds,
          once: values.once === true,
          onPass: (report) => {
            if (values.once) writeOut(`${JSON.stringify(report)}\n`);
          },
        });
        return 0;
      }
      case 'dead-letters': {
        const [action] = files;
        if (action !== 'list' && action !== 'replay') throw new UsageError('dead-letters takes list or replay');
        if (action === 'replay' && (values.to === undefined) === (values.bus === undefined))
          throw new UsageError('dead-letters replay needs exactly one of --to URL or --bus NAME');
        const { deadLettersCommand } = await import('./commands/dead-letters.ts');
        return await deadLettersCommand(action, {
          config,
          output,
          from: values.queue === undefined ? { store: true } : { queueUrl: values.queue },
          ...(values.to !== undefined
            ? { to: { url: values.to } }
            : values.bus !== undefined
              ? { to: { bus: values.bus } }
              : {}),
        });
      }
      case 'backup': {
        if (values.to === undefined) throw new UsageError('backup needs --to DIR or --to s3://bucket/prefix');
        const { backupCommand } = await import('./commands/backup.ts');
        // `--resources A B` leaves B as a positional: every file named is a resources file.
        const keep = values.keep === undefined ? undefined : Number(values.keep);
        if (keep !== undefined && !(Number.isInteger(keep) && keep >= 1)) {
          throw new UsageError(`--keep "${values.keep}" must be a whole number of backups, 1 or more`);
        }
        return await backupCommand(values.to, {
          config,
          output,
          resources: [...(values.resources ?? []), ...files],
          ...(keep === undefined ? {} : { keep }),
        });
      }
      case 'reset': {
        if (files.length > 0) throw new UsageError(`reset takes no arguments (got "${files.join(' ')}")`);
        const { resetCommand } = await import('./commands/reset.ts');
        return await resetCommand({ config });
      }
      case 'restore': {
        if (values.from === undefined) throw new UsageError('restore needs --from DIR or --from s3://bucket/prefix');
        const { restoreCommand } = await import('./commands/backup.ts');
        return await restoreCommand(values.from, { config, output });
      }
      case 'estimate': {
        if (files.length === 0) throw new UsageError('estimate needs at least one manifest file');
        const { estimateCommand } = await import('./commands/estimate.ts');
        return await estimateCommand(files, { config, output });
      }
      case 'validate': {
        if (files.length !== 1) throw new UsageError('validate takes one file (.qasm or a job manifest)');
        const { validateCommand } = await import('./commands/circuit.ts');
        return await validateCommand(files[0] as string, { config, output, inputs: inputs(values.input) });
      }
      case 'simulate': {
        if (files.length !== 1) throw new UsageError('simulate takes one .qasm file');
        const { simulateCommand } = await import('./commands/circuit.ts');
        const shots = wholeNumber(values.shots, '--shots', 1024) as number;
        if (shots < 1) throw new UsageError('--shots must be at least 1');
        const seed = wholeNumber(values.seed, '--seed');
        const top = wholeNumber(values.top, '--top');
        if (top !== undefined && values.probabilities !== true) throw new UsageError('--top goes with --probabilities');
        if (top === 0) throw new UsageError('--top must be at least 1');
        return await simulateCommand(files[0] as string, {
          config,
          output,
          shots,
          probabilities: values.probabilities === true,
          ...(top === undefined ? {} : { top }),
          inputs: inputs(values.input),
          ...(seed === undefined ? {} : { seed }),
        });
      }
      case 'transpile': {
        if (files.length !== 1) throw new UsageError('transpile takes one .qasm file');
        if (values.backend === undefined) throw new UsageError('transpile needs --backend NAME');
        const format = values.output ?? 'qasm3';
        if (format !== 'qasm3' && format !== 'json')
          throw new UsageError(`--output must be qasm3 or json (got "${format}")`);
        const level = wholeNumber(values['optimization-level'], '--optimization-level');
        if (level !== undefined && level > 3) throw new UsageError('--optimization-level must be 0, 1, 2 or 3');
        const seed = wholeNumber(values.seed, '--seed');
        const { transpileCommand } = await import('./commands/transpile.ts');
        return await transpileCommand(files[0] as string, {
          config,
          output: format,
          backend: values.backend,
          resources: values.resources ?? [],
          inputs: inputs(values.input),
          ...(level === undefined ? {} : { optimizationLevel: level }),
          ...(seed === undefined ? {} : { seed }),
        });
      }
      default:
        throw new UsageError(unknownCommand(command));
    }
  } catch (error) {
    if (error instanceof UsageError) {
      const command = positionals[0];
      const hint = command !== undefined && COMMANDS.includes(command) ? `qpipe ${command} --help` : 'qpipe --help';
      writeErr(`qpipe: ${error.message}\nRun "${hint}" for usage.\n`);
      return 2;
    }
    const { isQpipeError } = await import('../shared/errors.ts');
    writeErr(`qpipe: ${error instanceof Error ? error.message : String(error)}\n`);
    if (debug && error instanceof Error && error.stack) writeErr(`${error.stack}\n`);
    // Our own errors say everything; anything else may be a bug worth a stack trace.
    else if (!isQpipeError(error)) writeErr('(run with --debug for details)\n');
    return 1;
  }
}

/**
 * Structured logs (pino): one JSON object per line on stdout, with the stage, the job
 * (namespace, name, uid), the event (id, type) and the trace id bound on every line of an
 * event's handling. LOG_LEVEL sets the level (debug shows each event's attributes, with
 * circuits reduced to their size and credentials redacted). The CLI in a terminal prints
 * lines for people instead.
 */
import type { CloudEvent } from 'cloudevents';
import { type DestinationStream, type Logger, pino } from 'pino';
import { ConfigError } from '../errors.ts';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Paths never written, whatever the level. */
const REDACT = [
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'secretAccessKey',
  '*.secretAccessKey',
  'smtpUrl',
  '*.smtpUrl',
];

/** A destination that prints `HH:MM:SS LEVEL stage job message` for people reading a terminal. */
export function humanDestination(out: NodeJS.WritableStream): DestinationStream {
  return {
    write(line: string) {
      const record = JSON.parse(line) as Record<string, unknown>;
      const time = typeof record['time'] === 'string' ? record['time'].slice(11, 19) : '';
      const text = (value: unknown) => (typeof value === 'string' ? value : '');
      const job = record['job'] ? ` ${text(record['job'])}` : '';
      const stage = record['stage'] ? ` [${text(record['stage'])}]` : '';
      out.write(`${time} ${text(record['level']).toUpperCase().padEnd(5)}${stage}${job} ${text(record['msg'])}\n`);
    },
  };
}

/** Creates a logger; `level` defaults to LOG_LEVEL, else `fallback`. */
export function createLogger(
  options: {
    env?: Readonly<Record<string, string | undefined>>;
    fallback?: (typeof LEVELS)[number];
    destination?: DestinationStream;
  } = {},
): Logger {
  const level = options.env?.['LOG_LEVEL'] || options.fallback || 'info';
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError('LOG_LEVEL', `"${level}" must be one of ${LEVELS.join(', ')}`);
  }
  return pino(
    {
      level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

let shared: Logger | undefined;

/** The process's logger (created on first use from LOG_LEVEL). */
export function logger(): Logger {
  return (shared ??= createLogger({ env: process.env }));
}

/** Replaces the process's logger: the CLI (people-readable in a terminal) and tests. */
export function setLogger(next: Logger): void {
  shared = next;
}

/** An event's attributes for debug logs: the data's shape, with circuits reduced to their size. */
export function describeEvent(event: CloudEvent<unknown>): Record<string, unknown> {
  const record = event as unknown as Record<string, unknown>;
  const data = event.data as Record<string, unknown> | undefined;
  const circuit = data?.['circuit'] as { code?: string; ref?: string; bytes?: number } | undefined;
  return {
    id: event.id,
    type: event.type,
    source: event.source,
    subject: event.subject,
    time: event.time,
    ...Object.fromEntries(
      ['jobuid', 'jobgeneration', 'traceparent', 'circuitref', 'resultref', 'bodyref', 'notbefore']
        .filter((k) => record[k] !== undefined)
        .map((k) => [k, record[k]]),
    ),
    dataKeys: data && typeof data === 'object' ? Object.keys(data) : [],
    ...(circuit
      ? { circuit: circuit.ref ? { ref: circuit.ref } : { bytes: circuit.bytes ?? circuit.code?.length } }
      : {}),
  };
}

/**
 * The CLI's logging. `serve` is a server: info and up, JSON on stdout (or lines for
 * people in a terminal). Other commands print their own results on stdout, so their logs
 * go to stderr and only when LOG_LEVEL asks for them.
 */
export function configureCliLogging(command: string, env: Readonly<Record<string, string | undefined>>): void {
  const server = command === 'serve';
  const terminal = server ? process.stdout.isTTY : process.stderr.isTTY;
  const stream = server ? process.stdout : process.stderr;
  setLogger(
    createLogger({
      env,
      fallback: server ? 'info' : 'silent',
      destination: terminal ? humanDestination(stream) : pino.destination({ dest: server ? 1 : 2, sync: true }),
    }),
  );
}

/**
 * The `qpipe` command line. Thin: it parses arguments, loads only the modules the
 * command needs, prints, and sets the exit code. The logic lives in shared/.
 */
import { parseArgs } from 'node:util';
import { writeErr, writeOut } from './terminal.ts';

const USAGE = `qpipe: run quantum-circuit jobs through the qpipe pipeline

Usage:
  qpipe run <file...> [--output text|json] [--store DIR]
      Run every QiskitJob in the files through all stages in one process, on the
      built-in simulator. QiskitBudget, QiskitBackend and ConfigMap documents in the
      same files apply. Exit code 0 only when every job succeeded.
  qpipe submit <file...> (--to URL | --bus NAME) [--output text|json]
      Publish io.quantum.job.requested for every job: POSTed as a CloudEvent to URL (a
      Knative broker or qpipe serve), or put on an EventBridge bus (AWS credentials and
      region from the standard AWS settings).
  qpipe status <name> [--namespace NS] [--wait SECONDS] [--output text|json]
      A job's status from the store (./.qpipe, or S3 when QPIPE_S3_BUCKET is set); with
      --wait, polls until the job is final. Exit code 0 only when it succeeded.
  qpipe cancel <name> [--namespace NS] (--to URL | --bus NAME) [--reason TEXT]
      Cancel the latest run of a job published as an event (on a cluster, delete the
      QiskitJob): its simulation stops, a run not started never starts, its provider task
      is cancelled, and its money is released once the provider confirms.
  qpipe audit <name>|budget/<name>|backend/<name> [--namespace NS] [--output text|json]
      Every run of a job as its audit record tells it: who asked, each decision with its
      amounts (backend and estimate, reservation, hold, charge), task ids, final phase;
      or every change of a budget or backend: who made it, when, and the spec it made.
  qpipe estimate <file...> [--output text|json]
      Show, per job, every backend selection would consider: worst-case cost with its
      breakdown, score, and why a backend is excluded.
  qpipe apply -f <file>... [--output text|json]
      Store the QiskitBudget, QiskitBackend and ConfigMap documents of the files in the
      deployment's store (S3 when QPIPE_S3_BUCKET is set), where stages without
      Kubernetes (AWS Lambda) read them. Every document is validated first.
  qpipe get budgets|backends|sessions|jobs [--namespace NS] [--output text|json]
      List what the deployment's store holds: budgets with their spending, backends,
      sessions with their phase and IBM session id, jobs with their phase.
  qpipe bridge (--bus NAME | --to URL) [--interval SECONDS] [--once]
      The EKS bridge: for namespaces labelled qpipe.io/jobs=enabled, request new QiskitJob
      generations on the bus, copy QiskitBudgets and QiskitBackends to the store, and write
      each job's status from the store back to the QiskitJob. Runs in the cluster
      (infra/aws/bridge.yaml) or anywhere with KUBECONFIG.
  qpipe dead-letters list|replay [--queue URL] [--to URL | --bus NAME] [--output text|json]
      What could not be delivered: from the store's dead-letters/ (the Knative broker's
      sink), or from an SQS queue (--queue: a function's queue on AWS). replay sends each
      to the broker (--to) or the bus (--bus) again and removes it.
  qpipe backup --to DIR|s3://bucket/prefix [--keep N] [--resources FILE...] [--output text|json]
      Export every QiskitJob, QiskitBudget, QiskitBackend and QiskitSession (without
      status) and every budget ledger: from Kubernetes with QPIPE_CLUSTER=kubernetes, else
      the --resources files and the local store. --keep N (a scheduled backup): into a
      folder named after the UTC time, keeping the newest N such folders.
  qpipe restore --from DIR|s3://bucket/prefix [--output text|json]
      Import a backup: ledgers into the store, resources into Kubernetes (restored jobs
      are marked so they do not run again).
  qpipe validate <file.qasm|job.yaml> [--output text|json] [--input NAME=VALUE...]
      Check an OpenQASM circuit (or the jobs of a manifest) and print its metadata.
  qpipe simulate <file.qasm> [--shots N] [--seed S] [--probabilities] [--output text|json]
      Simulate a circuit: counts, or the exact probabilities of the measured bits.
  qpipe transpile <file.qasm> --backend NAME [--optimization-level N] [--seed S] [--output qasm3|json]
      Print the circuit a device with a coupling map would run (IBM systems, or a
      QiskitBackend from --resources with connectivity and supportedGates): OpenQASM 3
      on physical qubits ($n), or with json {qasm, layout, twoQubitGates, depth, swaps}.
  qpipe serve [--stage NAME] [--port N] [--host H] [--resources FILE...]
      Serve one stage as a Knative-style CloudEvents HTTP service (events beyond the
      reply go to K_SINK; delayed ones to the shared store), the timer (each POST releases
      due events and resyncs stalled jobs), the dead-letter sink, or, without --stage,
      the whole pipeline behind one ingress: POST events to /, GET /jobs/<namespace>/<name>.

Options:
  --output text|json   Output format (default text; transpile: qasm3 or json).
  --store DIR          Folder for results, status, ledgers and mail (default ./.qpipe, or QPIPE_STORE).
  --shots N            Shots to sample (default 1024).
  --seed S             Seed for repeatable sampling.
  --probabilities      Print exact outcome probabilities instead of sampled counts.
  --backend NAME       The device transpile compiles for.
  --optimization-level N  How hard transpile tries, 0 to 3 (default 1), as spec.execution.optimizationLevel.
  --input NAME=VALUE   Value of an OpenQASM 3 input parameter (repeatable).
  --to URL             Where submit POSTs CloudEvents (backup: the folder or s3:// prefix to write).
  --from LOCATION      The folder or s3:// prefix restore reads.
  --bus NAME           The EventBridge bus submit (or dead-letters replay) puts events on.
  --queue URL          The SQS queue dead-letters reads (AWS).
  --interval SECONDS   Time between the bridge's passes (default 5).
  --once               Make one bridge pass, then exit.
  --namespace NS       Namespace of the job status reads (default "default"), or that get lists.
  -f, --file FILE      A manifest file apply stores (repeatable).
  --wait SECONDS       How long status waits for a final phase.
  --reason TEXT        Why a job is cancelled (cancel), for its status and audit record.
  --stage NAME         What to serve: validate, select-backend, enforce-budget, execute, collect-results,
                       notify, timer or dead-letters.
  --port N             Port to listen on (default 8080; 0 picks a free one).
  --host H             Address to listen on (default 127.0.0.1).
  --resources FILE     Manifests of budgets, backends and ConfigMaps the server knows (repeatable).
  --debug              Print stack traces on errors.
  -h, --help           Show this help.
  -v, --version        Show the version.
`;

const OPTIONS = {
  output: { type: 'string' },
  store: { type: 'string' },
  shots: { type: 'string' },
  seed: { type: 'string' },
  probabilities: { type: 'boolean' },
  backend: { type: 'string' },
  'optimization-level': { type: 'string' },
  input: { type: 'string', multiple: true },
  stage: { type: 'string' },
  to: { type: 'string' },
  from: { type: 'string' },
  bus: { type: 'string' },
  namespace: { type: 'string' },
  wait: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  resources: { type: 'string', multiple: true },
  debug: { type: 'boolean' },
  file: { type: 'string', short: 'f', multiple: true },
  queue: { type: 'string' },
  interval: { type: 'string' },
  once: { type: 'boolean' },
  reason: { type: 'string' },
  keep: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

const COMMANDS = [
  'run',
  'submit',
  'status',
  'cancel',
  'audit',
  'estimate',
  'apply',
  'get',
  'bridge',
  'dead-letters',
  'backup',
  'restore',
  'validate',
  'simulate',
  'transpile',
  'serve',
];

/** One command's part of the usage, with the options it names. */
function commandHelp(command: string): string {
  const lines = USAGE.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`  qpipe ${command} `) || line === `  qpipe ${command}`);
  let end = start + 1;
  while (end < lines.length && lines[end]?.startsWith('      ')) end++;
  const block = lines.slice(start, end);
  const flags = new Set(block.join(' ').match(/--[a-z-]+|-f\b/g) ?? []);
  const options = lines
    .slice(lines.indexOf('Options:') + 1)
    .filter((line) => [...flags].some((flag) => line.trimStart().startsWith(flag) || line.includes(`, ${flag} `)));
  return `Usage:\n${block.join('\n')}\n${options.length > 0 ? `\nOptions:\n${options.join('\n')}\n` : ''}`;
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (previous[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length] as number;
}

function unknownCommand(command: string): string {
  const near = COMMANDS.filter((c) => distance(command, c) <= 2 || c.startsWith(command));
  return `unknown command "${command}"${near.length > 0 ? `; did you mean ${near.map((c) => `"${c}"`).join(' or ')}?` : ''}`;
}

/** A mistake in how the command was called: printed with the usage hint, exit code 2. */
class UsageError extends Error {}

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

/** Runs the CLI with the given arguments; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    writeErr(`qpipe: ${(error as Error).message}\nRun "qpipe --help" for usage.\n`);
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
      writeOut(USAGE);
      return command === undefined && !values.help ? 2 : 0;
    }
    if (!COMMANDS.includes(command)) throw new UsageError(unknownCommand(command));
    const output = command === 'transpile' ? 'text' : outputFormat(values.output);
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
      case 'get': {
        if (files.length !== 1) throw new UsageError('get takes one kind: budgets, backends, sessions or jobs');
        const { getCommand } = await import('./commands/resources.ts');
        return await getCommand(files[0] as string, {
          config,
          output,
          ...(values.namespace === undefined ? {} : { namespace: values.namespace }),
        });
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
        return await simulateCommand(files[0] as string, {
          config,
          output,
          shots,
          probabilities: values.probabilities === true,
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
      writeErr(`qpipe: ${error.message}\nRun "qpipe --help" for usage.\n`);
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

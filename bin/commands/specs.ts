/**
 * Every command and option of `qpipe`, once: the parser takes each command's own options from
 * here (an option a command does not take is a usage error), and the help is printed from the
 * same definitions, so the two cannot disagree.
 */

/** An option: how it parses and what it means. */
interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's placeholder in help (`--shots N`). */
  readonly value?: string;
  readonly doc: string;
}

export const OPTIONS = {
  output: { type: 'string', short: 'o', value: 'text|json', doc: 'Output format (default text).' },
  store: {
    type: 'string',
    value: 'DIR',
    doc: 'Folder for results, status, ledgers and mail (default ./.qpipe, or QPIPE_STORE).',
  },
  shots: { type: 'string', value: 'N', doc: 'Shots to sample (default 1024).' },
  seed: { type: 'string', value: 'S', doc: 'Seed for repeatable sampling.' },
  probabilities: {
    type: 'boolean',
    doc: 'Print the exact probability of every outcome instead of sampled counts, most likely first.',
  },
  top: { type: 'string', value: 'N', doc: 'Print only the N most likely outcomes (with --probabilities).' },
  backend: { type: 'string', value: 'NAME', doc: 'The device transpile compiles for.' },
  'optimization-level': {
    type: 'string',
    value: 'N',
    doc: 'How hard transpile tries, 0 to 3 (default 1), as spec.execution.optimizationLevel.',
  },
  input: {
    type: 'string',
    multiple: true,
    value: 'NAME=VALUE',
    doc: 'Value of an OpenQASM 3 input parameter (repeatable).',
  },
  to: {
    type: 'string',
    value: 'URL',
    doc: 'Where events are POSTed as CloudEvents (a Knative broker or qpipe serve).',
  },
  from: { type: 'string', value: 'LOCATION', doc: 'The folder or s3:// prefix restore reads.' },
  bus: { type: 'string', value: 'NAME', doc: 'The EventBridge bus events are put on.' },
  queue: { type: 'string', value: 'URL', doc: 'The SQS queue dead-letters reads (AWS).' },
  interval: { type: 'string', value: 'SECONDS', doc: "Time between the bridge's passes (default 5)." },
  once: { type: 'boolean', doc: 'Make one bridge pass, then exit.' },
  namespace: {
    type: 'string',
    short: 'n',
    value: 'NS',
    doc: 'The namespace (default "default"), as kubectl takes it.',
  },
  'all-namespaces': { type: 'boolean', short: 'A', doc: 'Every namespace (get).' },
  file: {
    type: 'string',
    short: 'f',
    multiple: true,
    value: 'FILE',
    doc: 'A manifest file apply stores (repeatable).',
  },
  wait: { type: 'string', value: 'SECONDS', doc: 'How long status waits for a final phase.' },
  reason: { type: 'string', value: 'TEXT', doc: 'Why the job is cancelled, for its status and audit record.' },
  keep: { type: 'string', value: 'N', doc: 'Write into a folder named after the UTC time and keep the newest N.' },
  stage: {
    type: 'string',
    value: 'NAME',
    doc: 'What to serve: validate, select-backend, enforce-budget, execute, collect-results, notify, timer or dead-letters.',
  },
  port: { type: 'string', value: 'N', doc: 'Port to listen on (default 8080; 0 picks a free one).' },
  host: { type: 'string', value: 'H', doc: 'Address to listen on (default 127.0.0.1).' },
  resources: {
    type: 'string',
    multiple: true,
    value: 'FILE',
    doc: 'Manifests of budgets, backends and ConfigMaps (repeatable).',
  },
  debug: { type: 'boolean', doc: 'Print stack traces on errors.' },
  help: { type: 'boolean', short: 'h', doc: 'Show this help.' },
  version: { type: 'boolean', short: 'v', doc: 'Show the version.' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/** Options every command takes. */
export const GLOBAL_OPTIONS: readonly OptionName[] = ['debug', 'help', 'version'];

interface CommandSpec {
  /** What follows `qpipe <name>` in the usage line. */
  readonly synopsis: string;
  readonly description: string;
  readonly options: readonly OptionName[];
  /** What an option means for this command, where it differs from OPTIONS. */
  readonly docs?: Partial<Record<OptionName, string>>;
}

export const COMMAND_SPECS: Readonly<Record<string, CommandSpec>> = {
  run: {
    synopsis: '<file...> [--output text|json] [--store DIR]',
    description: `Run every QiskitJob in the files through all stages in one process, on the
built-in simulator. QiskitBudget, QiskitBackend and ConfigMap documents in the
same files apply. Exit code 0 only when every job succeeded.`,
    options: ['output', 'store'],
  },
  submit: {
    synopsis: '<file...> (--to URL | --bus NAME) [--output text|json]',
    description: `Publish io.quantum.job.requested for every job: POSTed as a CloudEvent to URL (a
Knative broker or qpipe serve), or put on an EventBridge bus (AWS credentials and
region from the standard AWS settings).`,
    options: ['to', 'bus', 'output', 'store'],
  },
  status: {
    synopsis: '<name> [--namespace NS] [--wait SECONDS] [--output text|json]',
    description: `A job's status from the store (./.qpipe, or S3 when QPIPE_S3_BUCKET is set); with
--wait, polls until the job is final. Exit code 0 only when it succeeded.`,
    options: ['namespace', 'wait', 'output', 'store'],
  },
  cancel: {
    synopsis: '<name> [--namespace NS] (--to URL | --bus NAME) [--reason TEXT]',
    description: `Cancel the latest run of a job published as an event (on a cluster, delete the
QiskitJob): its simulation stops, a run not started never starts, its provider task
is cancelled, and its money is released once the provider confirms.`,
    options: ['namespace', 'to', 'bus', 'reason', 'store'],
  },
  audit: {
    synopsis: '<name>|budget/<name>|backend/<name> [--namespace NS] [--output text|json]',
    description: `Every run of a job as its audit record tells it: who asked, each decision with its
amounts (backend and estimate, reservation, hold, charge), task ids, final phase;
or every change of a budget or backend: who made it, when, and the spec it made.`,
    options: ['namespace', 'output', 'store'],
  },
  estimate: {
    synopsis: '<file...> [--output text|json]',
    description: `Show, per job, every backend selection would consider: worst-case cost with its
breakdown, score, and why a backend is excluded.`,
    options: ['output', 'store'],
  },
  apply: {
    synopsis: '-f <file>... [--output text|json]',
    description: `Store the QiskitBudget, QiskitBackend and ConfigMap documents of the files in the
deployment's store (S3 when QPIPE_S3_BUCKET is set), where stages without
Kubernetes (AWS Lambda) read them. Every document is validated first.`,
    options: ['file', 'output', 'store'],
  },
  get: {
    synopsis: 'KIND [NAME] [-n NS | -A] [-o wide|json|yaml|name]',
    description: `List what the store holds, as kubectl does: budgets with their spending, backends,
sessions with their phase and IBM session id, jobs with their phase. KIND as kubectl
takes it: budgets, qiskitbudget, qbud (backends qbe, sessions qses, jobs qj).`,
    options: ['namespace', 'all-namespaces', 'output', 'store'],
    docs: { output: 'Output format: a table (default), wide (more columns), json, yaml or name.' },
  },
  describe: {
    synopsis: 'KIND NAME [-n NS]',
    description: `Show one object in full: its spec, status and conditions, and for a job what its
audit record says happened (decisions, amounts, provider tasks).`,
    options: ['namespace', 'store'],
  },
  delete: {
    synopsis: 'KIND NAME... [-n NS]',
    description: `Delete stored objects: a budget, backend or session \`qpipe apply\` (or a run)
stored, or a job's status. A budget's ledger stays (its spending is history).`,
    options: ['namespace', 'store'],
  },
  bridge: {
    synopsis: '(--bus NAME | --to URL) [--interval SECONDS] [--once]',
    description: `The EKS bridge: for namespaces labelled qpipe.io/jobs=enabled, request new QiskitJob
generations on the bus, copy QiskitBudgets and QiskitBackends to the store, and write
each job's status from the store back to the QiskitJob. Runs in the cluster
(infra/aws/bridge.yaml) or anywhere with KUBECONFIG.`,
    options: ['bus', 'to', 'interval', 'once', 'store'],
  },
  'dead-letters': {
    synopsis: 'list|replay [--queue URL] [--to URL | --bus NAME] [--output text|json]',
    description: `What could not be delivered: from the store's dead-letters/ (the Knative broker's
sink), or from an SQS queue (--queue: a function's queue on AWS). replay sends each
to the broker (--to) or the bus (--bus) again and removes it.`,
    options: ['queue', 'to', 'bus', 'output', 'store'],
  },
  backup: {
    synopsis: '--to DIR|s3://bucket/prefix [--keep N] [--resources FILE...] [--output text|json]',
    description: `Export every QiskitJob, QiskitBudget, QiskitBackend and QiskitSession (without
status) and every budget ledger: from Kubernetes with QPIPE_CLUSTER=kubernetes, else
the --resources files and the local store. --keep N (a scheduled backup): into a
folder named after the UTC time, keeping the newest N such folders.`,
    options: ['to', 'keep', 'resources', 'output', 'store'],
    docs: { to: 'The folder or s3:// prefix the backup is written to.' },
  },
  restore: {
    synopsis: '--from DIR|s3://bucket/prefix [--output text|json]',
    description: `Import a backup: ledgers into the store, resources into Kubernetes (restored jobs
are marked so they do not run again).`,
    options: ['from', 'output', 'store'],
  },
  reset: {
    synopsis: '[--store DIR]',
    description: `Empty the local store (./.qpipe, or --store): every result, status, ledger, stored
resource and mail, to start over, as the budget demo does. Files of other programs in
the folder stay; a bucket (QPIPE_S3_BUCKET) is never emptied.`,
    options: ['store'],
  },
  validate: {
    synopsis: '<file.qasm|job.yaml> [--output text|json] [--input NAME=VALUE...]',
    description: 'Check an OpenQASM circuit (or the jobs of a manifest) and print its metadata.',
    options: ['output', 'input'],
  },
  simulate: {
    synopsis:
      '<file.qasm> [--shots N] [--seed S] [--probabilities [--top N]] [--output text|json] [--input NAME=VALUE...]',
    description: 'Simulate a circuit: counts, or the exact probabilities of the measured bits.',
    options: ['shots', 'seed', 'probabilities', 'top', 'input', 'output'],
  },
  transpile: {
    synopsis:
      '<file.qasm> --backend NAME [--optimization-level N] [--seed S] [--output qasm3|json] [--resources FILE...]',
    description: `Print the circuit a device with a coupling map would run (IBM systems, or a
QiskitBackend from --resources with connectivity and supportedGates): OpenQASM 3
on physical qubits ($n), or with json {qasm, layout, twoQubitGates, depth, swaps}.`,
    options: ['backend', 'optimization-level', 'seed', 'output', 'resources', 'input'],
    docs: {
      output: 'Output format: qasm3 (default) or json.',
      seed: 'Seed for the layout and routing trials.',
      resources: 'Manifests of QiskitBackends to compile for (repeatable).',
    },
  },
  serve: {
    synopsis: '[--stage NAME] [--port N] [--host H] [--resources FILE...]',
    description: `Serve one stage as a Knative-style CloudEvents HTTP service (events beyond the
reply go to K_SINK; delayed ones to the shared store), the timer (each POST releases
due events and resyncs stalled jobs), the dead-letter sink, or, without --stage,
the whole pipeline behind one ingress: POST events to /, GET /jobs/<namespace>/<name>.`,
    options: ['stage', 'port', 'host', 'resources', 'store'],
    docs: { resources: 'Manifests of budgets, backends and ConfigMaps the server knows (repeatable).' },
  },
};

export const COMMANDS = Object.keys(COMMAND_SPECS);

/** The parser's options of a command: its own and the global ones. */
export function parserOptions(command: string | undefined): Record<string, OptionSpec> {
  const names = [...(command === undefined ? [] : (COMMAND_SPECS[command]?.options ?? [])), ...GLOBAL_OPTIONS];
  return Object.fromEntries(names.map((name) => [name, OPTIONS[name]]));
}

const EXIT_CODES = `Exit codes:
  0  success
  1  a job, a circuit or an input failed (the message names it)
  2  qpipe was called wrongly (unknown command or option, a missing argument)`;

function optionLine(name: OptionName, doc: string): string {
  const option: OptionSpec = OPTIONS[name];
  const flag = `${option.short ? `-${option.short}, ` : ''}--${name}${option.value ? ` ${option.value}` : ''}`;
  return `  ${flag.padEnd(24)} ${doc}`;
}

function usageBlock(command: string): string {
  const spec = COMMAND_SPECS[command];
  if (!spec) return '';
  const description = spec.description
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
  return `  qpipe ${command} ${spec.synopsis}\n${description}`;
}

/** The whole usage: every command, the options, the exit codes. */
export function usage(): string {
  const every = [...new Set(COMMANDS.flatMap((c) => COMMAND_SPECS[c]?.options ?? []).concat(GLOBAL_OPTIONS))];
  return `qpipe: run quantum-circuit jobs through the qpipe pipeline

Usage:
${COMMANDS.map(usageBlock).join('\n')}

Options (each command takes those its usage names, and --debug, --help, --version):
${every.map((name) => optionLine(name, OPTIONS[name].doc)).join('\n')}

${EXIT_CODES}
`;
}

/** One command's help: its usage and exactly the options it takes. */
export function commandHelp(command: string): string {
  const spec = COMMAND_SPECS[command];
  if (!spec) return usage();
  const options = [...spec.options, ...GLOBAL_OPTIONS].map((name) =>
    optionLine(name, spec.docs?.[name] ?? OPTIONS[name].doc),
  );
  return `Usage:\n${usageBlock(command)}\n\nOptions:\n${options.join('\n')}\n\n${EXIT_CODES}\n`;
}

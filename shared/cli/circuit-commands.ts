/** `qpipe validate` and `qpipe simulate`: the front end and simulator on files, without the pipeline. */
import { readFileWithin } from '../bounded-read.ts';
import type { QpipeConfig } from '../config.ts';
import { InvalidInputError, LimitExceededError } from '../errors.ts';
import { MAX_SHOTS } from '../limits.ts';
import { analyzeQasm, compileQasm } from '../qasm/index.ts';
import { parseQasm } from '../qasm/parser.ts';
import { gatesNeedingStdgates, undeclaredNonStandardGates } from '../qasm/standard-gates.ts';
import type { ManifestSet } from '../manifests.ts';
import type { CircuitMetadata } from '../resources/schema.ts';

/** The validation verdict on one circuit or job. */
export interface ValidationEntry {
  readonly subject: string;
  readonly valid: boolean;
  readonly metadata?: CircuitMetadata;
  readonly error?: string;
  /** What other readers of the circuit would refuse (Qiskit, the specification). */
  readonly warnings?: readonly string[];
}

/** The warnings of an OpenQASM 3 source qpipe accepted: gates beyond stdgates.inc it does not declare. */
function portabilityWarnings(source: string): string[] {
  const program = parseQasm(source);
  const unincluded = gatesNeedingStdgates(program);
  return [
    ...undeclaredNonStandardGates(program).map(
      (gate) =>
        `gate "${gate}" is neither in stdgates.inc nor declared: qpipe and Amazon Braket accept it, ` +
        `Qiskit and the OpenQASM 3 specification do not (declare it with "gate ${gate} ... { ... }")`,
    ),
    ...(unincluded.length > 0
      ? [
          `${unincluded.map((g) => `"${g}"`).join(', ')} ${unincluded.length === 1 ? 'comes' : 'come'} from ` +
            'stdgates.inc, which the program does not include: qpipe and Amazon Braket accept ' +
            `${unincluded.length === 1 ? 'it' : 'them'}, Qiskit does not (add include "stdgates.inc";)`,
        ]
      : []),
  ];
}

/** The entry of a circuit qpipe accepted, with its portability warnings when there are any. */
function accepted(subject: string, metadata: CircuitMetadata, source: string): ValidationEntry {
  const warnings = portabilityWarnings(source);
  return { subject, valid: true, metadata, ...(warnings.length > 0 ? { warnings } : {}) };
}

const readCircuitFile = (path: string, config: QpipeConfig) =>
  readFileWithin(path, config.circuitLimits.maxBytes, 'QPIPE_MAX_CIRCUIT_BYTES');

const isManifest = (path: string) => /\.ya?ml$/i.test(path);

/** Validates a .qasm file, or every job (and resource) in a YAML manifest file. */
export async function validateFile(
  path: string,
  options: { config: QpipeConfig; inputs?: Record<string, number> },
): Promise<ValidationEntry[]> {
  const limits = options.config.circuitLimits;
  if (!isManifest(path)) {
    const source = await readCircuitFile(path, options.config);
    try {
      return [accepted(path, analyzeQasm(source, { limits, inputs: options.inputs ?? {} }), source)];
    } catch (error) {
      if (error instanceof InvalidInputError)
        return [{ subject: path, valid: false, error: `${path}:${error.message}` }];
      throw error;
    }
  }
  // Manifest support (YAML, schemas) loads only when a manifest is given: a .qasm check stays quick.
  const { loadManifests } = await import('../manifests.ts');
  const manifests = await loadManifests([path]);
  const entries: ValidationEntry[] = manifests.errors.map((e) => ({ subject: path, valid: false, error: e.message }));
  return [...entries, ...(await validateJobs(manifests, limits))];
}

/** The verdict on each job of a manifest set, in its order: its manifest, and its circuit when the files hold it. */
export async function validateJobs(
  manifests: ManifestSet,
  limits: QpipeConfig['circuitLimits'],
): Promise<ValidationEntry[]> {
  const [{ circuitCodeInFiles }, { parseResourceOf }] = await Promise.all([
    import('../manifests.ts'),
    import('../resources/validate.ts'),
  ]);
  const entries: ValidationEntry[] = [];
  for (const document of manifests.jobs) {
    const where = `${document.file}:${document.line}`;
    // Which job an error belongs to: its name once the manifest parses.
    let subject = where;
    try {
      const job = parseResourceOf('QiskitJob', document.value, `${where} QiskitJob`);
      subject = `${job.metadata.namespace ?? 'default'}/${job.metadata.name}`;
      const circuit = job.spec.circuit;
      const code = circuitCodeInFiles(circuit, job.metadata.namespace ?? 'default', manifests);
      if (code === undefined) {
        entries.push({
          subject,
          valid: true,
          error: `the circuit comes from ${circuit.source}; only the manifest was checked`,
        });
        continue;
      }
      const metadata = analyzeQasm(code, { limits, ...(circuit.format ? { format: circuit.format } : {}) });
      entries.push(accepted(subject, metadata, code));
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      const named = subject === where ? '' : `QiskitJob ${subject}: `;
      const message = error.message.startsWith(where) ? error.message : `${where}: ${named}${error.message}`;
      entries.push({ subject, valid: false, error: message });
    }
  }
  return entries;
}

/** Samples a circuit file, or computes its exact outcome probabilities. */
export async function simulateFile(
  path: string,
  options: {
    config: QpipeConfig;
    shots: number;
    seed?: number;
    probabilities: boolean;
    inputs?: Record<string, number>;
  },
): Promise<{ counts?: Record<string, number>; probabilities?: Record<string, number>; note?: string }> {
  if (!Number.isSafeInteger(options.shots) || options.shots < 1 || options.shots > MAX_SHOTS) {
    throw new LimitExceededError('--shots', `must be a whole number from 1 to ${MAX_SHOTS} (got ${options.shots})`);
  }
  const source = await readCircuitFile(path, options.config);
  let circuit;
  try {
    circuit = compileQasm(source, { limits: options.config.circuitLimits, inputs: options.inputs ?? {} }).circuit;
  } catch (error) {
    if (error instanceof InvalidInputError) throw new InvalidInputError(path, error.message, { cause: error });
    throw error;
  }
  const { exactProbabilities, simulate } = await import('../simulator/run.ts');
  const settings = options.config.simulator;
  if (options.probabilities) return { probabilities: await exactProbabilities(circuit, settings) };
  const result = await simulate(circuit, {
    ...settings,
    shots: options.shots,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });
  return { counts: result.counts, ...(result.note === undefined ? {} : { note: result.note }) };
}

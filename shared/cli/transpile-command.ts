/** `qpipe transpile`: the circuit a device with a coupling map would run, without the pipeline. */
import type { BackendEntry } from '../backends/backend.ts';
import { readFileWithin } from '../bounded-read.ts';
import type { QpipeConfig } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import { compileQasm } from '../qasm/index.ts';
import { buildTarget, IBM_DEVICES, targetFor, type TranspileTarget } from '../transpile/target.ts';
import { transpile, type Transpiled } from '../transpile/transpile.ts';

export interface TranspileFileOptions {
  readonly config: QpipeConfig;
  readonly backend: string;
  /** Manifests whose QiskitBackend documents add or override backends. */
  readonly resources?: readonly string[];
  readonly optimizationLevel?: number;
  readonly seed?: number;
  readonly inputs?: Record<string, number>;
}

/** The target named `name`: a backend of the catalog (with the files' QiskitBackends), or a shipped IBM device. */
async function findTarget(name: string, options: TranspileFileOptions): Promise<TranspileTarget> {
  const [{ loadManifests }, { backendCatalog }] = await Promise.all([
    import('../manifests.ts'),
    import('../backends/catalog.ts'),
  ]);
  const manifests = await loadManifests(options.resources ?? []);
  const [error] = manifests.errors;
  if (error) throw error;
  const catalog = backendCatalog({
    simulatorMaxQubits: options.config.simulator.maxQubits,
    resources: manifests.backends,
  });
  const entry: BackendEntry | undefined = catalog.find((b) => b.name === name);
  if (entry) {
    if (entry.type === 'local_simulator' || (entry.type === 'aws_braket' && !entry.connectivity)) {
      throw new InvalidInputError(
        '--backend',
        `${name} runs any circuit as written; transpilation is for devices with a coupling map and basis gates ` +
          '(IBM systems, or a QiskitBackend with connectivity and supportedGates)',
      );
    }
    return targetFor(entry);
  }
  const data = IBM_DEVICES.get(name);
  if (data) return buildTarget(data.name, data.qubits, data.basisGates, data.couplingMap);
  const known = [
    ...new Set([...catalog.filter((b) => b.type.startsWith('ibm')).map((b) => b.name), ...IBM_DEVICES.keys()]),
  ];
  throw new InvalidInputError(
    '--backend',
    `unknown backend "${name}"; IBM devices known here: ${known.sort().join(', ')}`,
  );
}

/** Transpiles a circuit file for a backend. */
export async function transpileFile(
  path: string,
  options: TranspileFileOptions,
): Promise<Transpiled & { backend: string }> {
  const target = await findTarget(options.backend, options);
  const source = await readFileWithin(path, options.config.circuitLimits.maxBytes, 'QPIPE_MAX_CIRCUIT_BYTES');
  try {
    const { circuit } = compileQasm(source, { limits: options.config.circuitLimits, inputs: options.inputs ?? {} });
    const result = transpile(circuit, target, {
      ...(options.optimizationLevel === undefined ? {} : { optimizationLevel: options.optimizationLevel }),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    });
    return { ...result, backend: target.name };
  } catch (error) {
    if (error instanceof InvalidInputError) throw new InvalidInputError(path, error.message, { cause: error });
    throw error;
  }
}

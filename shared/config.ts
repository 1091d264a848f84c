/**
 * qpipe's configuration, read once from environment variables (and CLI overrides) and
 * validated; an error names the bad setting.
 */
import { freemem } from 'node:os';
import { ConfigError } from './errors.ts';
import { type CircuitLimits, DEFAULT_LIMITS } from './qasm/elaborate.ts';

/** Validated configuration of one process. */
export interface QpipeConfig {
  /** Folder of the embedded default's store (results, status, ledgers, outbox). */
  readonly storeDir: string;
  readonly circuitLimits: CircuitLimits;
  /** Circuits larger than this travel by reference, not inline in events. */
  readonly inlineCircuitBytes: number;
  readonly simulator: {
    readonly maxMemoryBytes: number;
    /** Largest circuit the memory limit allows. */
    readonly maxQubits: number;
  };
  readonly mailFrom: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?$/i;
const UNIT: Record<string, number> = {
  b: 1,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
};

function readSize(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const match = SIZE.exec(raw.trim());
  if (!match) throw new ConfigError(name, `"${raw}" is not a size; write bytes or a size like 512MiB or 8GiB`);
  return Math.floor(Number(match[1]) * (UNIT[(match[2] ?? 'b').toLowerCase()] ?? 1));
}

function readInteger(env: Env, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(name, `"${raw}" must be a whole number of at least ${min}`);
  }
  return value;
}

/** Options set on the command line, which win over the environment. */
export interface ConfigOverrides {
  readonly storeDir?: string;
}

/** Reads and validates configuration. */
export function loadConfig(env: Env = process.env, overrides: ConfigOverrides = {}): QpipeConfig {
  // By default the simulator may use half of the memory free at start-up.
  const maxMemoryBytes = readSize(env, 'QPIPE_SIMULATOR_MAX_MEMORY', Math.floor(freemem() / 2));
  const mailFrom = env['QPIPE_MAIL_FROM'] ?? 'qpipe <qpipe@localhost>';
  if (/[\r\n]/.test(mailFrom)) throw new ConfigError('QPIPE_MAIL_FROM', 'must be one line');
  return {
    storeDir: overrides.storeDir ?? env['QPIPE_STORE'] ?? '.qpipe',
    circuitLimits: {
      maxBytes: readSize(env, 'QPIPE_MAX_CIRCUIT_BYTES', DEFAULT_LIMITS.maxBytes),
      maxQubits: readInteger(env, 'QPIPE_MAX_QUBITS', DEFAULT_LIMITS.maxQubits),
      maxGates: readInteger(env, 'QPIPE_MAX_GATES', DEFAULT_LIMITS.maxGates),
      maxLoopIterations: readInteger(env, 'QPIPE_MAX_LOOP_ITERATIONS', DEFAULT_LIMITS.maxLoopIterations),
      maxNesting: readInteger(env, 'QPIPE_MAX_NESTING', DEFAULT_LIMITS.maxNesting),
    },
    inlineCircuitBytes: readSize(env, 'QPIPE_INLINE_CIRCUIT_BYTES', 64 * 1024),
    simulator: { maxMemoryBytes, maxQubits: Math.max(0, Math.floor(Math.log2(maxMemoryBytes / 16))) },
    mailFrom,
  };
}

/** Errors of the built-in simulator. */
import { LimitExceededError } from '../errors.ts';

/** The state vector would need more memory than the simulator may use. */
export class SimulatorMemoryError extends LimitExceededError {
  readonly requiredBytes: number;
  readonly limitBytes: number;

  constructor(numQubits: number, requiredBytes: number, limitBytes: number, gates = 0) {
    super(
      'circuit',
      `simulating ${numQubits} qubits${gates >= 100_000 ? ` and ${gates} gates` : ''} needs ${formatBytes(requiredBytes)} of memory, more than the simulator's limit of ` +
        `${formatBytes(limitBytes)}; run it on a managed simulator instead (backend aws_braket, SV1 takes up to 34 qubits)`,
    );
    this.requiredBytes = requiredBytes;
    this.limitBytes = limitBytes;
  }
}

/** Bytes as a short human figure ("512 MiB"). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1).replace(/\.0$/, '')} ${units[unit]}`;
}

/** Exact probabilities would need more measurement branches than allowed. */
export class BranchLimitError extends LimitExceededError {
  constructor(maxBranches: number) {
    super(
      'circuit',
      `exact probabilities need more than ${maxBranches} measurement branches; sample shots instead of asking for probabilities`,
    );
  }
}

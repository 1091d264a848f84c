/**
 * The IBM systems whose snapshots ship with qpipe (shared/backends/ibm/devices/, extracted by
 * test/tools/extract-ibm-devices.py): the transpiler compiles for them and selection offers
 * them, so the two know the same devices.
 */
import brisbane from './devices/ibm_brisbane.json' with { type: 'json' };
import fez from './devices/ibm_fez.json' with { type: 'json' };
import sherbrooke from './devices/ibm_sherbrooke.json' with { type: 'json' };
import torino from './devices/ibm_torino.json' with { type: 'json' };

/** A device data file: an IBM system's snapshot, with where it came from. */
export interface DeviceData {
  readonly name: string;
  readonly processor: string;
  readonly qubits: number;
  readonly basisGates: readonly string[];
  readonly twoQubitGate: string;
  readonly couplingMap: readonly (readonly number[])[];
  readonly source: string;
}

/** The IBM systems whose coupling maps ship with qpipe, by name. */
export const IBM_DEVICES: ReadonlyMap<string, DeviceData> = new Map(
  [torino, fez, brisbane, sherbrooke].map((d) => [d.name, d as DeviceData]),
);

/** The regions Braket's devices in the catalog run in, and where the region-less simulators run by default. */
import { builtinBackends } from '../../shared/backends/catalog.ts';
import { deviceRegion } from '../../shared/backends/braket/braket-executor.ts';

/** The default for region-less devices (the on-demand simulators): --param braketRegion. */
export const DEFAULT_BRAKET_REGION = 'us-east-1';

/** Every region a catalog device runs in, sorted, with the default. */
export const BRAKET_REGIONS: readonly string[] = [
  ...new Set([
    DEFAULT_BRAKET_REGION,
    ...builtinBackends({ simulatorMaxQubits: 30 })
      .map((b) => (b.type === 'aws_braket' && b.deviceId ? deviceRegion(b.deviceId) : undefined))
      .filter((r): r is string => r !== undefined),
  ]),
].sort();

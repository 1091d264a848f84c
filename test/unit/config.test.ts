/** Configuration: provider backends are off until set up, and a bad value names its variable. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';

describe('configuration of provider backends', () => {
  it('enables no provider by default, and polls from 5 s backing off to 5 min', () => {
    const config = loadConfig({});
    expect(config.providers.braket).toBeUndefined();
    expect(config.providers.ibm).toBeUndefined();
    expect(config.providers.poll).toEqual({ firstSeconds: 5, maxSeconds: 300, deadlineSeconds: 604_800 });
  });

  it('enables Braket with results in the qpipe bucket, or in a bucket of its own per region', () => {
    expect(loadConfig({ QPIPE_BRAKET: 'true', QPIPE_S3_BUCKET: 'team-results' }).providers.braket).toEqual({
      outputBucket: 'team-results',
      outputPrefix: 'braket',
      stateChangeEvents: false,
    });
    expect(
      loadConfig({ QPIPE_BRAKET_OUTPUT_BUCKET: 'amazon-braket-{region}-123', QPIPE_BRAKET_STATE_EVENTS: 'true' })
        .providers.braket,
    ).toMatchObject({ outputBucket: 'amazon-braket-{region}-123', stateChangeEvents: true });
  });

  it('keeps Braket off when QPIPE_BRAKET=false, even with an output bucket set (a stack sets it either way)', () => {
    expect(
      loadConfig({
        QPIPE_BRAKET: 'false',
        QPIPE_BRAKET_OUTPUT_BUCKET: 'amazon-braket-{region}-1',
        QPIPE_S3_BUCKET: 'team-results',
      }).providers.braket,
    ).toBeUndefined();
    expect(loadConfig({ QPIPE_BRAKET_OUTPUT_BUCKET: '' }).providers.braket).toBeUndefined();
  });

  it('enables IBM Quantum with its API key and Service CRN', () => {
    const ibm = loadConfig({ IBM_QUANTUM_API_KEY: 'k', IBM_QUANTUM_CRN: 'crn:v1:x' }).providers.ibm;
    expect(ibm).toEqual({
      apiKey: 'k',
      serviceCrn: 'crn:v1:x',
      apiUrl: 'https://quantum.cloud.ibm.com/api',
      iamUrl: 'https://iam.cloud.ibm.com',
    });
  });

  it.each([
    [{ QPIPE_BRAKET: 'yes' }, 'QPIPE_BRAKET: "yes" must be true or false'],
    [{ QPIPE_BRAKET: 'true' }, 'QPIPE_BRAKET_OUTPUT_BUCKET: is required for Braket when QPIPE_S3_BUCKET is not set'],
    [{ IBM_QUANTUM_API_KEY: 'k' }, 'IBM_QUANTUM_CRN: IBM Quantum needs both'],
    [{ IBM_QUANTUM_CRN: 'c' }, 'IBM_QUANTUM_API_KEY: IBM Quantum needs both'],
    [
      { IBM_QUANTUM_API_KEY: 'k', IBM_QUANTUM_CRN: 'c', QPIPE_IBM_API_URL: 'ftp://x' },
      'QPIPE_IBM_API_URL: "ftp://x" is not an http(s) URL',
    ],
    [{ QPIPE_POLL_FIRST_SECONDS: '0' }, 'QPIPE_POLL_FIRST_SECONDS: "0" must be a whole number of at least 1'],
  ])('names the variable at fault: %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('memory the simulator may use', () => {
  it('comes from the container limit (cgroup v2, then v1), never more than the free memory', async () => {
    const { availableMemory } = await import('../../shared/config.ts');
    const files = (entries: Record<string, string>) => (path: string) => {
      const text = entries[path];
      if (text === undefined) throw new Error(`ENOENT ${path}`);
      return text;
    };
    const free = () => 8 * 2 ** 30;
    expect(availableMemory(files({ '/sys/fs/cgroup/memory.max': '4294967296\n' }), free)).toBe(4294967296);
    expect(availableMemory(files({ '/sys/fs/cgroup/memory.max': String(16 * 2 ** 30) }), free)).toBe(8 * 2 ** 30);
    expect(availableMemory(files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '2097152' }), free)).toBe(2097152);
    // "max" (no limit), v1's no-limit figure, and no cgroup at all fall back to the free memory.
    expect(availableMemory(files({ '/sys/fs/cgroup/memory.max': 'max' }), free)).toBe(8 * 2 ** 30);
    expect(availableMemory(files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712' }), free)).toBe(
      8 * 2 ** 30,
    );
    expect(availableMemory(files({}), free)).toBe(8 * 2 ** 30);
  });
});

describe('the namespace of the installation', () => {
  it('is the pod’s own on Kubernetes (its ServiceAccount’s namespace file), unless QPIPE_NAMESPACE says otherwise', async () => {
    const { podNamespace, SERVICE_ACCOUNT_NAMESPACE_FILE } = await import('../../shared/config.ts');
    const mounted = (path: string) => {
      if (path !== SERVICE_ACCOUNT_NAMESPACE_FILE) throw new Error(`ENOENT ${path}`);
      return 'quantum-platform\n';
    };
    expect(podNamespace(mounted)).toBe('quantum-platform');
    expect(
      podNamespace(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
    expect(
      loadConfig({ QPIPE_NAMESPACE: 'set-here', QPIPE_CLUSTER: 'kubernetes', QPIPE_S3_BUCKET: 'results' }).namespace,
    ).toBe('set-here');
    expect(loadConfig({}).namespace).toBe('default');
  });
});

describe('the ideal-distribution check of device results', () => {
  it('is bounded by the memory of the process that runs it, not by the simulator capacity it is told', async () => {
    const { idealMaxQubits } = await import('../../functions/collect-results/handler.ts');
    // A 256 MiB pod: 64 MiB of amplitudes, 22 qubits; a big one stops at 24.
    expect(idealMaxQubits(256 * 2 ** 20)).toBe(22);
    expect(idealMaxQubits(64 * 2 ** 30)).toBe(24);
    expect(idealMaxQubits(1024)).toBe(4);
  });
});

describe('execute and the memory it is told the simulator may use', () => {
  it('refuses to start when that is more than three quarters of its own memory, naming the setting and the fix', async () => {
    const { requireSimulatorFits, availableMemory } = await import('../../shared/config.ts');
    const told = (size: string) => loadConfig({ QPIPE_SIMULATOR_MAX_MEMORY: size });
    expect(() => requireSimulatorFits(told('2GiB'), 4 * 2 ** 30)).not.toThrow();
    expect(() => requireSimulatorFits(told('2GiB'), 2 * 2 ** 30)).toThrow(
      /QPIPE_SIMULATOR_MAX_MEMORY: 2048 MiB does not fit in execute's memory \(2048 MiB.*executeMemory/,
    );
    // A Lambda's memory is its configured size.
    const none = () => {
      throw new Error('ENOENT');
    };
    expect(availableMemory(none, () => 64 * 2 ** 30, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3008' })).toBe(3008 * 2 ** 20);
  });

  it('fits as the sizing table sizes it, on Knative and on Lambda', async () => {
    const { requireSimulatorFits } = await import('../../shared/config.ts');
    const { SIZES, simulatorMaxMemory } = await import('../../infra/sizing.ts');
    for (const memoryMiB of [SIZES.execute.knativeMiB, SIZES.execute.lambdaMB ?? 0]) {
      const config = loadConfig({ QPIPE_SIMULATOR_MAX_MEMORY: simulatorMaxMemory(memoryMiB) });
      expect(() => requireSimulatorFits(config, memoryMiB * 2 ** 20)).not.toThrow();
    }
  });
});

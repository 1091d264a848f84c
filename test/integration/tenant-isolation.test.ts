/**
 * What one tenant sends never changes what another tenant runs or pays, on the embedded
 * pipeline over real local files (store, status, ledgers): every port is the one `qpipe run`
 * uses, nothing stands in.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { ALL_STAGES } from '../../functions/stages.ts';
import { applyFiles } from '../../shared/cli/resources-command.ts';
import { loadConfig } from '../../shared/config.ts';
import { circuitObjectKey, loadCircuitSource } from '../../shared/jobs.ts';
import { analyzeQasm } from '../../shared/qasm/index.ts';
import { createEmbeddedPipeline, createLocalPorts } from '../../shared/runtime/embedded.ts';
import { jobManifest } from '../support/manifests.ts';
import { FROZEN_NOW } from '../support/memory-ports.ts';

/** A one-qubit program over the inline limit (so it travels through the store) applying `body` as gate g. */
function largeProgram(body: string, modifier = ''): string {
  const padding = `// ${'padding '.repeat(12)}\n`.repeat(800);
  return `OPENQASM 3.0;\ninclude "stdgates.inc";\n${padding}gate g a { ${body} }\nqubit[1] q;\nbit[1] c;\n${modifier}g q[0];\nc[0] = measure q[0];\n`;
}

describe('content addressing across tenants (embedded pipeline, real local files)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qpipe-tenants-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('gives programs that differ only in a modifier or a definition body different hashes', () => {
    const hashOf = (code: string) => analyzeQasm(code).hash;
    const flip = hashOf(largeProgram('x a;'));
    expect(hashOf(largeProgram('id a;'))).not.toBe(flip);
    expect(hashOf(largeProgram('s a;'))).not.toBe(hashOf(largeProgram('s a;', 'inv @ ')));
    expect(hashOf(largeProgram('rx(0.5) a;'))).not.toBe(hashOf(largeProgram('rx(0.5) a;', 'pow(2) @ ')));
    // Formatting still does not change it.
    expect(hashOf(largeProgram('x   a ;'))).toBe(flip);
  });

  it('runs each namespace its own large circuit when two programs differ only in a definition body', async () => {
    const config = loadConfig({ QPIPE_STORE: dir, QPIPE_SIMULATOR_MAX_MEMORY: '1GiB' });
    const ports = await createLocalPorts(config, { budgets: [], backends: [], configMaps: [] }, () => FROZEN_NOW);
    const pipeline = createEmbeddedPipeline({ stages: ALL_STAGES, ports });
    const jobs = [
      jobManifest('flip', { circuit: { source: 'inline', code: largeProgram('x a;') } }, { namespace: 'alice' }),
      jobManifest('stay', { circuit: { source: 'inline', code: largeProgram('id a;') } }, { namespace: 'bob' }),
      jobManifest('flip', { circuit: { source: 'inline', code: largeProgram('x a;') } }, { namespace: 'bob' }),
    ];
    await pipeline.publish(jobs.map((job) => buildEvent(EventType.JobRequested, { job }, { source: '/test' })));
    await pipeline.idle();

    expect(await ports.cluster.readJobStatus('alice', 'flip')).toMatchObject({
      phase: 'Succeeded',
      results: { counts: { '1': 100 } },
    });
    expect(await ports.cluster.readJobStatus('bob', 'stay')).toMatchObject({
      phase: 'Succeeded',
      results: { counts: { '0': 100 } },
    });
    expect(await ports.cluster.readJobStatus('bob', 'flip')).toMatchObject({
      phase: 'Succeeded',
      results: { counts: { '1': 100 } },
    });
    // One object per namespace and text: the same program in two namespaces is stored twice.
    const stored = (await ports.store.list('circuits/')).sort();
    expect(stored).toHaveLength(3);
    expect(stored.filter((key) => key.startsWith('circuits/alice/'))).toHaveLength(1);
  });

  it('refuses a stored circuit that is not the text its key names', async () => {
    const config = loadConfig({ QPIPE_STORE: dir, QPIPE_SIMULATOR_MAX_MEMORY: '1GiB' });
    const ports = await createLocalPorts(config, { budgets: [], backends: [], configMaps: [] }, () => FROZEN_NOW);
    const key = circuitObjectKey('alice', largeProgram('x a;'));
    await ports.store.put(key, largeProgram('id a;'), 'text/plain');
    await expect(
      loadCircuitSource({ format: 'qasm3', hash: 'sha256:0', bytes: 1, ref: key }, ports.store),
    ).rejects.toThrow(/does not hold the circuit its key names/);
  });

  it('refuses to store a tenant QiskitBackend that re-prices a QPU (qpipe apply: the store AWS reads resources from)', async () => {
    const file = join(dir, 'backend.yaml');
    await writeFile(
      file,
      'apiVersion: quantum.io/v1\nkind: QiskitBackend\nmetadata: {name: ionq-forte, namespace: mallory}\nspec: {provider: aws_braket, pricing: {perTask: "$0.00", perShot: "$0.00"}}\n',
    );
    const config = { ...loadConfig({ QPIPE_STORE: join(dir, 'store') }), namespace: 'qpipe' };
    await expect(applyFiles([file], config)).rejects.toThrow(
      /QiskitBackend mallory\/ionq-forte: prices ionq-forte below the operator's price/,
    );
    expect(await readdir(join(dir, 'store')).catch(() => [])).toEqual([]);
  });
});

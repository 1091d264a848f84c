import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifests, parseYamlDocuments } from '../../shared/manifests.ts';

describe('reading manifest files (real files)', () => {
  it('refuses a file over the size limit before parsing it, and still reads the other files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qpipe-manifests-'));
    const big = join(dir, 'big.yaml');
    await writeFile(big, `# ${'x'.repeat(2048)}\n`);
    const set = await loadManifests([big, 'examples/bell.yaml'], 1024);
    expect(set.errors.map((e) => e.message)).toEqual([
      `${big}: the file is 2051 bytes; the limit is 1024 (QPIPE_MAX_MANIFEST_BYTES)`,
    ]);
    expect(set.jobs.map((j) => j.file)).toEqual(['examples/bell.yaml']);
  });

  it('refuses a device that never ends (/dev/zero) after the limit, not after memory runs out', async () => {
    const set = await loadManifests(['/dev/zero'], 64 * 1024);
    expect(set.errors[0]?.message).toMatch(/the file is more than 65536 bytes; the limit is 65536/);
  });

  it('reports unresolved and exponential YAML aliases as errors with the line, not exceptions', () => {
    const unresolved = parseYamlDocuments('a: 1\n---\nb: *nowhere\n', 'f.yaml');
    expect(unresolved.errors.map((e) => e.message)).toEqual([expect.stringMatching(/^f\.yaml:2: YAML/)]);
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++)
      laughs.push(`${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`);
    const bomb = parseYamlDocuments(laughs.join('\n'), 'bomb.yaml');
    expect(bomb.documents).toEqual([]);
    expect(bomb.errors[0]?.message).toMatch(/^bomb\.yaml:1: YAML error: .*alias/i);
  });
});

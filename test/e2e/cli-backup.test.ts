/** `qpipe backup` and `qpipe restore` on the embedded default, as a user runs them (child processes, real files). */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ObjectLedgerStore } from '../../shared/budget/object-ledger-store.ts';
import { LocalObjectStore } from '../../shared/storage/local-object-store.ts';
import { qpipe } from '../support/cli.ts';

describe('qpipe backup and restore (end to end, child processes)', () => {
  it('backs up the ledgers of a run and the manifests given, and restores the ledgers into a new store', async () => {
    const root = await mkdtemp(join(tmpdir(), 'qpipe-cli-backup-'));
    const [store, restored, backup] = ['store', 'restored', 'backup'].map((d) => join(root, d)) as [
      string,
      string,
      string,
    ];
    await qpipe(['run', 'examples/budget-demo.yaml'], { QPIPE_STORE: store });

    const saved = await qpipe(['backup', '--to', backup, '--resources', 'examples/budget-demo.yaml'], {
      QPIPE_STORE: store,
    });
    expect(saved.stderr).toBe('');
    expect(saved.stdout).toMatch(
      /^backed up \d+ QiskitJob, 1 QiskitBudget, 1 QiskitBackend, 0 QiskitSession and 1 ledgers to /,
    );
    const kinds = parseAllDocuments(await readFile(join(backup, 'resources.yaml'), 'utf8')).map(
      (d) => (d.toJS() as { kind: string }).kind,
    );
    expect(kinds).toContain('QiskitBudget');

    const back = await qpipe(['restore', '--from', backup, '--output', 'json'], { QPIPE_STORE: restored });
    expect(back.code).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ ledgers: 1, created: 0, skipped: kinds.length });
    const [key] = await new ObjectLedgerStore(new LocalObjectStore(store)).list();
    expect(key).toMatch(/^default\/demo\/\d{4}-\d{2}$/);
    const original = await new ObjectLedgerStore(new LocalObjectStore(store)).read(key as string);
    expect((await new ObjectLedgerStore(new LocalObjectStore(restored)).read(key as string)).state).toEqual(
      original.state,
    );
    expect(original.state.spentMicros).toBe(4_500_000);
  });

  it('says what is wrong with a missing location', async () => {
    const result = await qpipe(['restore', '--from', join(tmpdir(), 'no-such-backup')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/backup\.json: no qpipe backup here/);
    expect((await qpipe(['backup'])).code).toBe(2);
  });
});

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
    expect(key).toMatch(/^budget-demo\/demo\/\d{4}-\d{2}$/);
    const original = await new ObjectLedgerStore(new LocalObjectStore(store)).read(key as string);
    expect((await new ObjectLedgerStore(new LocalObjectStore(restored)).read(key as string)).state).toEqual(
      original.state,
    );
    expect(original.state.spentMicros).toBe(4_500_000);
  });

  it('keeps the newest N dated backups with --keep (the scheduled backup), each restorable', async () => {
    const root = await mkdtemp(join(tmpdir(), 'qpipe-cli-backup-'));
    const [store, backups] = ['store', 'backups'].map((d) => join(root, d)) as [string, string];
    await qpipe(['run', 'examples/budget-demo.yaml'], { QPIPE_STORE: store });
    const written: string[] = [];
    for (let i = 0; i < 3; i++) {
      const saved = await qpipe(['backup', '--to', backups, '--keep', '2'], { QPIPE_STORE: store });
      expect(saved.code, saved.stderr).toBe(0);
      written.push(/ to (\S+)$/m.exec(saved.stdout)?.[1] ?? '');
      // Dated to the second: the next one gets a folder of its own.
      await new Promise((r) => setTimeout(r, 1100));
    }
    expect(written.every((w) => /\/\d{8}T\d{6}Z$/.test(w))).toBe(true);
    // What is left in the location (a folder here, a prefix in S3: empty folders do not count).
    const left = [...new Set((await new LocalObjectStore(backups).list('')).map((k) => k.split('/')[0]))].sort();
    expect(left).toEqual(written.slice(1).map((w) => w.slice(backups.length + 1)));
    const back = await qpipe(['restore', '--from', written[2] ?? '', '--output', 'json'], {
      QPIPE_STORE: join(root, 'restored'),
    });
    expect(JSON.parse(back.stdout)).toMatchObject({ ledgers: 1 });
    expect((await qpipe(['backup', '--to', backups, '--keep', '0'], { QPIPE_STORE: store })).stderr).toMatch(
      /--keep "0" must be a whole number of backups, 1 or more/,
    );
  }, 60_000);

  it('says what is wrong with a missing location', async () => {
    const result = await qpipe(['restore', '--from', join(tmpdir(), 'no-such-backup')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/backup\.json: no qpipe backup here/);
    expect((await qpipe(['backup'])).code).toBe(2);
  });
});

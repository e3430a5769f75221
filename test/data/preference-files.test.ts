// Preferences as JSONL files: an import read in batches and an export written to a stream round-trip, and a
// stream that fails mid-export is one error naming the output. (test/cli/labels-cli.test.ts drives the CLI.)
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { importPreferences, writeExport } from '../../data/preference-files.js';
import { Store } from '../../data/store.js';
import { tempDir } from '../helpers.js';

describe('data: preference files, streamed', () => {
  it('imports pairs and exports them back; a failing stream is one error naming the output', async () => {
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    const rows = Array.from({ length: 1203 }, (_, i) => ({ prompt: `p${i}`, chosen: `good ${i}`, rejected: `bad ${i}` }));
    writeFileSync(join(dir, 'in.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n\n');
    const store = new Store(db);
    try {
      expect(await importPreferences(store, join(dir, 'in.jsonl'), 'import')).to.equal(1203);
    } finally {
      store.close();
    }
    const chunks: string[] = [];
    const sink = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) });
    expect(await writeExport(db, 'pairs', sink, { end: true, name: 'out.jsonl' })).to.equal(1203);
    expect(chunks.join('').trim().split('\n').map((l) => JSON.parse(l))).to.deep.equal(rows);

    const full = new Writable({ write: (_c, _e, cb) => cb(new Error('ENOSPC: no space left on device')) });
    let err = '';
    await writeExport(db, 'full', full, { end: true, name: 'out.jsonl' }).catch((e: Error) => (err = e.message));
    expect(err).to.equal('out.jsonl: ENOSPC: no space left on device');
  });
});

// The admin credential file beside a store: created 0600 on a fresh store, reused while it still signs in
// an admin, rotated when it is missing or stale, with a warning when the new token cannot open the admin
// pages yet. (test/cli/start-token.test.ts checks the same through `rlhf start`.)
import { expect } from 'chai';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminTokenFile, ensureAdminToken } from '../../data/admin-token.js';
import { Store } from '../../data/store.js';
import { tempDir } from '../helpers.js';

describe('data: the admin token file beside a store', () => {
  it('is created 0600, reused, and rotated when missing or stale', () => {
    const db = join(tempDir(), 'rlhf.db');
    const store = new Store(db);
    try {
      const warnings: string[] = [];
      const warn = (l: string) => warnings.push(l);
      const file = adminTokenFile(db);
      expect(file).to.equal(join(db, '..', 'rlhf.admin-token'));
      const a = ensureAdminToken(store, db, warn);
      expect(a).to.include({ file, fresh: true });
      expect(readFileSync(file, 'utf8')).to.equal(a.token + '\n');
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      expect(store.authenticate(a.token)?.role).to.equal('admin');
      expect(ensureAdminToken(store, db, warn)).to.deep.equal({ token: a.token, file, fresh: false });
      rmSync(file);
      const b = ensureAdminToken(store, db, warn);
      expect(b.fresh).to.equal(true);
      expect(store.authenticate(a.token)).to.equal(null); // rotated: the old token stopped working
      writeFileSync(file, 'stale\n');
      expect(ensureAdminToken(store, db, warn).token).to.not.be.oneOf([a.token, b.token, 'stale']);
      expect(warnings).to.deep.equal([]);
    } finally {
      store.close();
    }
  });

  it('warns when the admin user is disabled or no longer an admin', () => {
    const db = join(tempDir(), 'rlhf.db');
    const store = new Store(db);
    try {
      store.addUser('root', 'admin'); // so 'admin' is not the last enabled admin
      store.addUser('admin', 'admin');
      store.setRole('admin', 'labeler', null);
      const warnings: string[] = [];
      ensureAdminToken(store, db, (l) => warnings.push(l));
      expect(warnings).to.deep.equal([`warning: user 'admin' is a labeler; its new token will not open the admin pages until rlhf users role --name admin --role admin --db ${db}`]);
    } finally {
      store.close();
    }
  });
});

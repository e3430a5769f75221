// rlhf users: add users (printing their token once), list them, replace a token.
import { Command, Option } from 'commander';
import { ROLES, Role, Store } from '../data/store.js';

export function usersCommand(): Command {
  const cmd = new Command('users').description('labelers, researchers and admins of a store');
  cmd.command('add').description('add a user and print their new token (shown once; only a hash is stored)')
    .requiredOption('--name <name>', 'user name').addOption(new Option('--role <role>', 'role').choices([...ROLES]).makeOptionMandatory())
    .option('--db <file>', 'SQLite file', 'rlhf.db').option('--json', 'print {"name","role","token"}')
    .action((o) => {
      const store = new Store(o.db);
      try {
        const token = store.addUser(o.name, o.role as Role);
        process.stdout.write(o.json ? JSON.stringify({ name: o.name, role: o.role, token }) + '\n' : `${token}\n`);
      } finally {
        store.close();
      }
    });
  cmd.command('list').description('list users').option('--db <file>', 'SQLite file', 'rlhf.db').option('--json', 'JSON lines')
    .action((o) => {
      const store = new Store(o.db);
      for (const u of store.users()) process.stdout.write(o.json ? JSON.stringify(u) + '\n' : `${u.name}\t${u.role}${u.disabled ? '\tdisabled' : ''}\n`);
      store.close();
    });
  cmd.command('token').description("replace a user's token and print the new one").requiredOption('--name <name>', 'user name')
    .option('--db <file>', 'SQLite file', 'rlhf.db')
    .action((o) => {
      const store = new Store(o.db);
      try {
        process.stdout.write(store.rotateToken(o.name, null) + '\n');
      } finally {
        store.close();
      }
    });
  return cmd;
}

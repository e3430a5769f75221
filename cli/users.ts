// rlhf users: add users (printing their token once), list them, replace a token, disable, enable, change a
// role. Only `add` creates a missing store; the others refuse one that does not exist (store-file.ts).
// The store refuses to disable or demote the last enabled admin; a running server closes the WebSockets
// of a user whose token stops working within a second (server/ws-hub.ts).
import { Command, Option } from 'commander';
import { ROLES, Role, Store } from '../data/store.js';
import { createStore, dbOption, openStore } from './store-file.js';

function using(store: Store, fn: (s: Store) => unknown): void {
  try {
    fn(store);
  } finally {
    store.close();
  }
}

const roleOption = () => new Option('--role <role>', 'role').choices([...ROLES]).makeOptionMandatory();

export function usersCommand(): Command {
  const cmd = new Command('users').description('labelers, researchers and admins of a store');
  cmd.command('add').description('add a user and print their new token (shown once; only a hash is stored); creates the store if missing')
    .requiredOption('--name <name>', 'user name').addOption(roleOption())
    .addOption(dbOption()).option('--json', 'print {"name","role","token"}')
    .action((o) => using(createStore(o.db), (store) => {
      const token = store.addUser(o.name, o.role as Role);
      process.stdout.write(o.json ? JSON.stringify({ name: o.name, role: o.role, token }) + '\n' : `${token}\n`);
    }));
  cmd.command('list').description('list users').addOption(dbOption()).option('--json', 'JSON lines')
    .action((o) => using(openStore(o.db), (store) => {
      for (const u of store.users()) process.stdout.write(o.json ? JSON.stringify(u) + '\n' : `${u.name}\t${u.role}${u.disabled ? '\tdisabled' : ''}\n`);
    }));
  cmd.command('token').description("replace a user's token and print the new one").requiredOption('--name <name>', 'user name')
    .addOption(dbOption())
    .action((o) => using(openStore(o.db), (store) => process.stdout.write(store.rotateToken(o.name, null) + '\n')));
  cmd.command('disable').description("disable a user: their token stops working (refused for the last enabled admin)").requiredOption('--name <name>', 'user name')
    .addOption(dbOption())
    .action((o) => using(openStore(o.db), (store) => (store.disableUser(o.name, null), process.stdout.write(`disabled ${o.name}\n`))));
  cmd.command('enable').description('enable a disabled user: their token works again').requiredOption('--name <name>', 'user name')
    .addOption(dbOption())
    .action((o) => using(openStore(o.db), (store) => (store.enableUser(o.name, null), process.stdout.write(`enabled ${o.name}\n`))));
  cmd.command('role').description("change a user's role (refused for demoting the last enabled admin)").requiredOption('--name <name>', 'user name')
    .addOption(roleOption()).addOption(dbOption())
    .action((o) => using(openStore(o.db), (store) => (store.setRole(o.name, o.role as Role, null), process.stdout.write(`${o.name} is now ${o.role}\n`))));
  return cmd;
}

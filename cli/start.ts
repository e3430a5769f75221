// rlhf start (npm start): the main job on the embedded defaults. Opens (or creates) a local store, fills
// an empty labeling queue with comparisons from the shipped starter model, serves the labeling page, the
// project page and the run dashboard on 127.0.0.1, and gives the admin a token kept in a 0600 file beside
// the store (data/admin-token.ts), reused at the next start so open pages keep working. The seeding is
// queue/starter-tasks.ts; this file parses the flags, checks the port and prints.
// The token is printed only where someone asked for it: on a terminal, or with --json. Piped into a log
// file, stdout names the token file instead, so the log holds no credential.
// The port is checked before anything else, and bound before the token is touched: a second start on a
// busy port fails without changing the first one's credential.
import { Command } from 'commander';
import { createServer } from 'node:net';
import { BackendName, initBackend } from '../backend/backend.js';
import { ensureAdminToken } from '../data/admin-token.js';
import { queueIsEmpty, seedStarterTasks } from '../queue/starter-tasks.js';
import { RunningServer, startServer } from '../server/app.js';
import { backendOption, collect, int } from './options.js';
import { createStore, dbOption } from './store-file.js';

// The embedded defaults live in data/starter.ts; still exported here because tests name them through this file.
export { OPENINGS, STARTER } from '../data/starter.js';

export function startCommand(): Command {
  return new Command('start')
    .description('serve labeling, project and dashboard pages on a local store seeded with comparisons from the starter model; the admin token is kept in a 0600 file beside the store (printed on a terminal or with --json)')
    .addOption(dbOption('SQLite label store (created with its folder when missing)'))
    .option('--port <n>', 'port', int(0), 8080)
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--seed-tasks <n>', 'comparisons to create from the starter model when the queue is empty', int(0), 24)
    .option('--allow-read <dir>', 'a folder run configs from the dashboard may read, as for rlhf serve; repeat for several', collect, [])
    .option('--reward-modules <dir>', 'a folder whose modules runs may use as reward or goldReward, as for rlhf serve; repeat for several', collect, [])
    .addOption(backendOption())
    .option('--json', 'print {"url","admin_token","admin_token_file","label","project","dashboard","db"}')
    .action(async (o) => {
      await assertPortFree(o.host, o.port);
      const store = createStore(o.db);
      if (queueIsEmpty(store) && o.seedTasks > 0) {
        await initBackend(o.backend as BackendName);
        await seedStarterTasks(store, o.seedTasks);
      }
      const s = await listen(() => startServer({ store, host: o.host, port: o.port, runs: { maxRunning: 1, allowRead: o.allowRead, rewardModules: o.rewardModules } }), o.host, o.port);
      const { token, file } = ensureAdminToken(store, o.db, (line) => process.stderr.write(line + '\n'));
      // #token=… signs the page in once (it moves the token to localStorage and out of the address bar).
      const link = (page: string, withToken: boolean) => `${s.url}/${page}${withToken ? `#token=${token}` : ''}`;
      if (o.json) {
        process.stdout.write(JSON.stringify({ url: s.url, admin_token: token, admin_token_file: file, label: link('label', true), project: link('project', true), dashboard: link('dashboard', true), db: o.db }) + '\n');
      } else {
        const shown = Boolean(process.stdout.isTTY);
        const tokenLine = shown ? `${token}  (kept in ${file}; the links below carry it)` : `in ${file} (not printed: stdout is not a terminal; --json prints it)`;
        process.stdout.write(`rlhf-trainer on ${s.url} (store ${o.db})\n  admin token: ${tokenLine}\n  label:       ${link('label', shown)}\n  project:     ${link('project', shown)}\n  dashboard:   ${link('dashboard', shown)}\nadd labelers on the project page, or: rlhf users add --name NAME --role labeler --db ${o.db}\n`);
      }
      const stop = () => void s.close().then(() => (store.close(), process.exit(0)));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}

const inUse = (host: string, port: number) => new Error(`${host}:${port} is already in use (another rlhf start or serve?); stop it or pick another --port`);

/** Fails at once on a busy port, before the store is opened or seeded. */
async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? inUse(host, port) : e));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** The server's own bind (the port may have been taken while the queue was seeded), as one error line. */
async function listen(start: () => Promise<RunningServer>, host: string, port: number): Promise<RunningServer> {
  try {
    return await start();
  } catch (e) {
    throw (e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? inUse(host, port) : e;
  }
}

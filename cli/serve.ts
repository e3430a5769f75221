// rlhf serve: the labeling server (API, pages, live events) on one SQLite file.
import { Command } from 'commander';
import { createStore, dbOption } from './store-file.js';
import { startServer } from '../server/app.js';
import { collect, int } from './options.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the labeling server: JSON API, labeling, project and run dashboard pages, WebSocket events; training runs go in runs/ beside the database')
    .option('--port <n>', 'port (0 picks a free one)', int(0), 8080)
    .option('--host <addr>', 'address to bind; 127.0.0.1 keeps it on this machine', '127.0.0.1')
    .addOption(dbOption('SQLite label store (created with its folder when missing)'))
    .option('--rate-limit <n>', 'requests per second per user (and per address before a token is checked), with bursts of twice that', int(1), 500)
    .option('--reward-model <dir>', 'serve POST /api/score from this reward model (loaded in a worker thread)')
    .option('--max-runs <n>', 'training runs at once; more wait queued (each is a process using a core)', int(1), 1)
    .option('--allow-read <dir>', "a folder run configs may read (checkpoints, prompts, data), besides the package's data/ and models/, data/ and runs/ beside the store; repeat for several", collect, [])
    .option('--reward-modules <dir>', 'a folder whose JS/TS modules runs may use as reward or goldReward (code the server will run: register only what you trust); repeat for several', collect, [])
    .option('--json', 'print {"url"} when listening')
    .action(async (o) => {
      const store = createStore(o.db);
      const s = await startServer({ store, host: o.host, port: o.port, rateLimit: o.rateLimit, rewardModel: o.rewardModel, runs: { maxRunning: o.maxRuns, allowRead: o.allowRead, rewardModules: o.rewardModules } });
      const users = store.users().filter((u) => !u.disabled).length;
      if (o.json) process.stdout.write(JSON.stringify({ url: s.url, db: o.db }) + '\n');
      else {
        process.stdout.write(`listening on ${s.url} (db ${o.db})\n  label:   ${s.url}/label\n  project: ${s.url}/project\n  runs:    ${s.url}/dashboard\n`);
        if (!users) process.stdout.write(`no users yet: rlhf users add --name NAME --role admin --db ${o.db}\n`);
      }
      const stop = () => void s.close().then(() => (store.close(), process.exit(0)));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}

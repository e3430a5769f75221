// rlhf start (npm start): the main job on the embedded defaults. Opens (or creates) a local store,
// gives the admin a fresh token (only hashes are stored, so an old one cannot be shown again), fills an
// empty labeling queue with comparisons from the shipped starter model, and serves the labeling page,
// the project page and the run dashboard on 127.0.0.1.
import { Command } from 'commander';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Store } from '../data/store.js';
import { BackendName, initBackend } from '../lm/backend.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { sampleTasks } from '../lm/sample-tasks.js';
import { startServer } from '../server/app.js';
import { backendOption, int } from './options.js';

export const STARTER = join(import.meta.dirname, '..', 'data', 'models', 'starter');
export const OPENINGS = join(import.meta.dirname, '..', 'data', 'prompts', 'openings.txt');

export function startCommand(): Command {
  return new Command('start')
    .description('serve labeling, project and dashboard pages on a local store seeded with comparisons from the starter model; prints the admin token')
    .option('--db <file>', 'SQLite file', join('.rlhf', 'rlhf.db'))
    .option('--port <n>', 'port', int(0), 8080)
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--seed-tasks <n>', 'comparisons to create from the starter model when the queue is empty', int(0), 24)
    .addOption(backendOption())
    .option('--json', 'print {"url","admin_token","label","dashboard"}')
    .action(async (o) => {
      mkdirSync(dirname(o.db), { recursive: true });
      const store = new Store(o.db);
      const admin = store.users().find((u) => u.name === 'admin');
      const token = admin ? store.rotateToken('admin', null) : store.addUser('admin', 'admin');
      const open = store.db.prepare('SELECT count(*) FROM tasks').pluck().get() as number;
      if (!open && o.seedTasks > 0) {
        await initBackend(o.backend as BackendName);
        const { model, tokenizer } = loadCheckpoint(STARTER);
        const prompts = readFileSync(OPENINGS, 'utf8').split('\n').filter(Boolean).slice(0, o.seedTasks);
        const tasks = await sampleTasks(model, tokenizer!, prompts, { k: 2, maxNewTokens: 24, temperature: 0.8, topP: 1, seed: 1, batch: 24 });
        store.addTasks(tasks.map((t) => ({ prompt: t.prompt, source: 'starter', completions: t.completions.map((c) => ({ ...c, model: 'starter' })) })));
        model.dispose();
      }
      const s = await startServer({ store, host: o.host, port: o.port, runs: { maxRunning: 1 } });
      // #token=… signs the page in once (it moves the token to localStorage and out of the address bar).
      const info = { url: s.url, admin_token: token, label: `${s.url}/label#token=${token}`, project: `${s.url}/project#token=${token}`, dashboard: `${s.url}/dashboard#token=${token}`, db: o.db };
      if (o.json) process.stdout.write(JSON.stringify(info) + '\n');
      else {
        process.stdout.write(`rlhf-trainer on ${s.url} (store ${o.db})\n  admin token: ${token}  (a new one at each start; the links below carry it)\n  label:       ${info.label}\n  project:     ${info.project}\n  dashboard:   ${info.dashboard}\nadd labelers on the project page, or: rlhf users add --name NAME --role labeler --db ${o.db}\n`);
      }
      const stop = () => void s.close().then(() => (store.close(), process.exit(0)));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}

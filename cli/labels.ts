// rlhf export / rlhf import: preferences as JSONL, streamed.
import { Command, Option } from 'commander';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { exportLines, openReader } from '../data/export.js';
import { parsePreference, Preference } from '../data/prefs.js';
import { Store } from '../data/store.js';

export function exportCommand(): Command {
  return new Command('export').description('labels as JSONL: pairs {"prompt","chosen","rejected"} (ties and skips left out) or full records')
    .option('--db <file>', 'SQLite file', 'rlhf.db')
    .addOption(new Option('--format <f>', 'pairs or full').choices(['pairs', 'full']).default('pairs'))
    .option('--out <file>', 'output file (default stdout)')
    .action(async (o) => {
      new Store(o.db).close(); // migrate if needed
      const db = openReader(o.db);
      const out = o.out ? createWriteStream(o.out) : process.stdout;
      let n = 0;
      for (const line of exportLines(db, o.format)) {
        n++;
        if (!out.write(line)) await once(out, 'drain');
      }
      if (o.out) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(() => r()));
      db.close();
      process.stderr.write(`exported ${n} lines\n`);
    });
}

export function importCommand(): Command {
  return new Command('import').description('import JSONL {"prompt","chosen","rejected"} preferences as labelled tasks')
    .option('--db <file>', 'SQLite file', 'rlhf.db')
    .requiredOption('--data <file>', 'JSONL file')
    .option('--as <name>', 'the labeler the imported labels are recorded under', 'import')
    .action(async (o) => {
      const store = new Store(o.db);
      const rows: Preference[] = [];
      let line = 0;
      let total = 0;
      const flush = () => {
        total += store.importPairs(rows.splice(0), o.as);
      };
      for await (const text of createInterface({ input: createReadStream(o.data) })) {
        line++;
        if (!text.trim()) continue;
        rows.push(parsePreference(text, o.data, line));
        if (rows.length >= 1000) flush();
      }
      flush();
      store.close();
      process.stdout.write(`imported ${total} preferences\n`);
    });
}

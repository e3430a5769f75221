// rlhf export / rlhf import: preferences as JSONL, streamed.
import { Command, Option } from 'commander';
import { createReadStream, createWriteStream, openSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { exportLines, openReader } from '../data/export.js';
import { parsePreference, Preference } from '../data/prefs.js';
import { createStore, dbOption, openStore } from './store-file.js';

export function exportCommand(): Command {
  return new Command('export').description('labels as JSONL: pairs {"prompt","chosen","rejected"} (ties and skips left out) or full records')
    .addOption(dbOption())
    .addOption(new Option('--format <f>', 'pairs or full').choices(['pairs', 'full']).default('pairs'))
    .option('--out <file>', 'output file (default stdout)')
    .action(async (o) => {
      openStore(o.db).close(); // must exist; migrate if needed
      // opened here, synchronously, so a missing folder or a read-only one is an error line, not a stack
      const fd = o.out ? openOut(o.out) : null;
      const db = openReader(o.db);
      const out = fd !== null ? createWriteStream('', { fd }) : process.stdout;
      let failed: Error | null = null;
      out.on('error', (e: Error) => (failed ??= e)); // e.g. a full disk: reported below as one line
      let n = 0;
      try {
        for (const line of exportLines(db, o.format)) {
          n++;
          if (!out.write(line)) await once(out, 'drain');
          if (failed) break;
        }
        if (fd !== null && !failed) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(() => r()));
      } catch (e) {
        failed ??= e as Error;
      } finally {
        db.close();
      }
      if (failed) throw new Error(`${o.out ?? 'stdout'}: ${(failed as Error).message}`);
      process.stderr.write(`exported ${n} lines\n`);
    });
}

export function importCommand(): Command {
  return new Command('import').description('import JSONL {"prompt","chosen","rejected"} preferences as labelled tasks')
    .addOption(dbOption('SQLite label store (created when missing)'))
    .requiredOption('--data <file>', 'JSONL file')
    .option('--as <name>', 'the labeler the imported labels are recorded under', 'import')
    .action(async (o) => {
      const store = createStore(o.db);
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

function openOut(file: string): number {
  try {
    return openSync(file, 'w');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(err.code === 'ENOENT' ? `${file}: no such folder` : `${file}: ${err.message}`);
  }
}

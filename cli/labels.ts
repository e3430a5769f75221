// rlhf export / rlhf import: preferences as JSONL, streamed (data/preference-files.ts).
import { Command, Option } from 'commander';
import { createWriteStream, openSync } from 'node:fs';
import { importPreferences, writeExport } from '../data/preference-files.js';
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
      const out = fd !== null ? createWriteStream('', { fd }) : process.stdout;
      const n = await writeExport(o.db, o.format, out, { end: fd !== null, name: o.out ?? 'stdout' });
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
      const total = await importPreferences(store, o.data, o.as);
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

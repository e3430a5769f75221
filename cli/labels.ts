// rlhf export / rlhf import: preferences as JSONL, streamed (data/preference-files.ts).
import { Command, Option } from 'commander';
import { createWriteStream, openSync } from 'node:fs';
import { EXPORT_FORMATS } from '../data/export.js';
import { labelFilter } from '../data/label-filter.js';
import { importPreferences, writeExport } from '../data/preference-files.js';
import { createStore, dbOption, openStore } from './store-file.js';

export function exportCommand(): Command {
  return new Command('export')
    .description('labels as JSONL: pairs {"prompt","chosen","rejected"} (ties and skips left out), full records, or aggregated (one line per task, its rankings made one by ranked pairs); labels rejected on the project page are never exported')
    .addOption(dbOption())
    .addOption(new Option('--format <f>', 'pairs, full or aggregated').choices([...EXPORT_FORMATS]).default('pairs'))
    .option('--out <file>', 'output file (default stdout)')
    .option('--labeler <name>', "only this labeler's labels")
    .option('--from <date>', 'labels created at or after this date or UTC time (2026-12-06, 2026-12-06T14:30Z)')
    .option('--to <date>', 'labels created before this time; a date alone: through the end of that day')
    .option('--min-agreement <x>', "only tasks whose labelers' pairwise agreement on the top choice is at least x (0 to 1; tasks with one label are left out)")
    .addOption(new Option('--agreement <a>', "only tasks whose labelers all agree, some disagree, or with fewer than two labels").choices(['unanimous', 'contested', 'single']))
    .addOption(new Option('--gold <g>', 'only gold questions, none, or those answered right or wrong').choices(['only', 'none', 'correct', 'wrong']))
    .action(async (o) => {
      const filter = labelFilter({ labeler: o.labeler, from: o.from, to: o.to, minAgreement: o.minAgreement, agreement: o.agreement, gold: o.gold });
      openStore(o.db).close(); // must exist; migrate if needed
      // opened here, synchronously, so a missing folder or a read-only one is an error line, not a stack
      const fd = o.out ? openOut(o.out) : null;
      const out = fd !== null ? createWriteStream('', { fd }) : process.stdout;
      const n = await writeExport(o.db, o.format, out, { end: fd !== null, name: o.out ?? 'stdout', filter });
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

// Preferences as JSONL files, streamed both ways so any number of labels runs in flat memory: an export
// written to a stream as the cursor yields it (waiting for 'drain', stopping at the first write error, e.g.
// a full disk), and an import read line by line into the store in batches of 1,000 (one transaction each).
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ExportFormat, exportLines, openReader } from './export.js';
import type { LabelFilter } from './label-filter.js';
import { parsePreference, Preference } from './prefs.js';
import type { Store } from './store.js';

/**
 * Writes the export of store file `db` (the labels `filter` keeps; never rejected ones) to `out`, ending it
 * when `end` (a file; never stdout). Returns the lines written. A failure of the stream or of the read
 * throws one error, prefixed with `name` (the file).
 */
export async function writeExport(db: string, format: ExportFormat, out: NodeJS.WritableStream, { end, name, filter }: { end: boolean; name: string; filter?: LabelFilter }): Promise<number> {
  const reader = openReader(db);
  let failed: Error | null = null;
  out.on('error', (e: Error) => (failed ??= e)); // reported below as one line
  let n = 0;
  try {
    for (const line of exportLines(reader, format, filter)) {
      n++;
      if (!out.write(line)) await once(out, 'drain');
      if (failed) break;
    }
    if (end && !failed) await new Promise<void>((r) => out.end(() => r()));
  } catch (e) {
    failed ??= e as Error;
  } finally {
    reader.close();
  }
  if (failed) throw new Error(`${name}: ${(failed as Error).message}`);
  return n;
}

/** Imports JSONL {"prompt","chosen","rejected"} lines of `file` as labels of user `as`; returns how many. */
export async function importPreferences(store: Store, file: string, as: string): Promise<number> {
  const rows: Preference[] = [];
  let line = 0;
  let total = 0;
  const flush = () => {
    total += store.importPairs(rows.splice(0), as);
  };
  for await (const text of createInterface({ input: createReadStream(file) })) {
    line++;
    if (!text.trim()) continue;
    rows.push(parsePreference(text, file, line));
    if (rows.length >= 1000) flush();
  }
  flush();
  return total;
}

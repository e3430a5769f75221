// rlhf tokenizer train: learn a byte-level BPE from text files and save tokenizer.json (lm/tokenizer-file.ts).
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { corpusText, CORPORA, CorpusName } from '../data/corpora.js';
import { trainTokenizerFile } from '../lm/tokenizer-file.js';
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
      const t = trainTokenizerFile(texts, { vocabSize: o.vocabSize, minFrequency: o.minFrequency }, o.out);
      const summary = { file: t.file, vocab_size: t.vocabSize, merges: t.merges, seconds: (performance.now() - t0) / 1000 };
      if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else process.stdout.write(`wrote ${summary.file}: ${summary.vocab_size} tokens, ${summary.merges} merges in ${summary.seconds.toFixed(1)}s\n`);
    });
  return cmd;
}

// rlhf eval: perplexity of a checkpoint (optionally with a LoRA adapter) on text or JSONL pairs.
import { Command } from 'commander';
import { corpusText, CorpusName } from '../data/corpora.js';
import { BackendName, initBackend } from '../backend/backend.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { Lora } from '../lm/lora.js';
import { perplexity } from '../sft/perplexity.js';
import { readSources } from '../sft/sft-data.js';
import { backendOption, collect, int } from './options.js';

export function evalCommand(): Command {
  return new Command('eval')
    .description('perplexity on every token of text files, or every completion token of JSONL pairs')
    .requiredOption('--model <dir>', 'checkpoint folder')
    .option('--adapter <dir>', 'LoRA adapter folder (PEFT layout) to apply')
    .requiredOption('--data <path>', 'a .txt or .jsonl file, or corpus:NAME; repeat for several', collect)
    .option('--seq-len <n>', 'window length (default: the model context)', int(2))
    .option('--batch-size <n>', 'windows per forward pass', int(1), 8)
    .addOption(backendOption())
    .option('--json', 'print {"tokens","loss","perplexity"}')
    .action(async (o) => {
      const sources = readSources(o.data, (n) => corpusText(n as CorpusName));
      await initBackend(o.backend as BackendName);
      const { model, tokenizer } = loadCheckpoint(o.model);
      if (!tokenizer) throw new Error(`${o.model}: no tokenizer.json`);
      const lora = o.adapter ? Lora.load(o.adapter, model) : null;
      const r = perplexity(model, tokenizer, sources, o.seqLen ?? model.config.nPositions, o.batchSize);
      process.stdout.write(o.json ? JSON.stringify(r) + '\n' : `${r.tokens} tokens: loss ${r.loss.toFixed(4)}, perplexity ${r.perplexity.toFixed(2)}\n`);
      lora?.dispose();
      model.dispose();
    });
}

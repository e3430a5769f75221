// rlhf init: write a freshly initialised GPT-2 checkpoint around a tokenizer.
import { Command } from 'commander';
import { BackendName, initBackend } from '../backend/backend.js';
import { saveCheckpoint } from '../lm/checkpoint.js';
import { validateConfig } from '../lm/config.js';
import { GPT2 } from '../lm/models/gpt2.js';
import { Tokenizer } from '../lm/tokenizer.js';
import { backendOption, int, withShapeOptions } from './options.js';

export function initCommand(): Command {
  return withShapeOptions(new Command('init'))
    .description('create a randomly initialised GPT-2 checkpoint folder (GPT-2 init: N(0, 0.02), scaled residual projections)')
    .requiredOption('--tokenizer <path>', 'tokenizer.json, or a folder holding one; sets vocab_size and eos')
    .requiredOption('--out <dir>', 'output folder')
    .option('--seed <s>', 'initialisation seed', int(0), 0)
    .addOption(backendOption())
    .option('--json', 'print a JSON summary')
    .action(async (o) => {
      const tok = Tokenizer.load(o.tokenizer);
      const config = validateConfig({
        vocabSize: tok.vocabSize, nPositions: o.nPositions, nEmbd: o.nEmbd, nLayer: o.nLayer, nHead: o.nHead,
        eosTokenId: tok.eosId ?? undefined, bosTokenId: tok.eosId ?? undefined,
      });
      await initBackend(o.backend as BackendName);
      const model = GPT2.init(config, o.seed);
      await saveCheckpoint(o.out, model, tok);
      const summary = { out: o.out, params: model.numParams(), config };
      process.stdout.write(o.json ? JSON.stringify(summary) + '\n' : `wrote ${o.out}: ${summary.params.toLocaleString('en')} parameters\n`);
      model.dispose();
    });
}

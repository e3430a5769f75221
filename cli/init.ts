// rlhf init: write a freshly initialised GPT-2 checkpoint around a tokenizer.
import { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BackendName, initBackend } from '../lm/backend.js';
import { saveCheckpoint } from '../lm/checkpoint.js';
import { validateConfig } from '../lm/config.js';
import { GPT } from '../lm/model.js';
import { Tokenizer } from '../lm/tokenizer.js';
import { backendOption, int } from './options.js';

export function initCommand(): Command {
  return new Command('init')
    .description('create a randomly initialised GPT-2 checkpoint folder (GPT-2 init: N(0, 0.02), scaled residual projections)')
    .requiredOption('--tokenizer <path>', 'tokenizer.json, or a folder holding one; sets vocab_size and eos')
    .requiredOption('--out <dir>', 'output folder')
    .option('--n-embd <n>', 'width', int(1), 128)
    .option('--n-layer <n>', 'blocks', int(1), 4)
    .option('--n-head <n>', 'attention heads', int(1), 4)
    .option('--n-positions <n>', 'context length', int(1), 128)
    .option('--seed <s>', 'initialisation seed', int(0), 0)
    .addOption(backendOption())
    .option('--json', 'print a JSON summary')
    .action(async (o) => {
      const tokFile = existsSync(o.tokenizer) && statSync(o.tokenizer).isDirectory() ? join(o.tokenizer, 'tokenizer.json') : o.tokenizer;
      const tok = Tokenizer.load(tokFile);
      const config = validateConfig({
        vocabSize: tok.vocabSize, nPositions: o.nPositions, nEmbd: o.nEmbd, nLayer: o.nLayer, nHead: o.nHead,
        eosTokenId: tok.eosId ?? undefined, bosTokenId: tok.eosId ?? undefined,
      });
      await initBackend(o.backend as BackendName);
      const model = GPT.init(config, o.seed);
      await saveCheckpoint(o.out, model, tok);
      const summary = { out: o.out, params: model.numParams(), config };
      process.stdout.write(o.json ? JSON.stringify(summary) + '\n' : `wrote ${o.out}: ${summary.params.toLocaleString('en')} parameters\n`);
      model.dispose();
    });
}

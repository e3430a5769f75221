// rlhf merge: fold a LoRA adapter into its base model and write a plain checkpoint of its family.
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { BackendName, initBackend } from '../backend/backend.js';
import { loadCheckpoint, saveCheckpoint } from '../lm/checkpoint.js';
import { Lora } from '../lm/lora.js';
import { backendOption } from './options.js';

export function mergeCommand(): Command {
  return new Command('merge')
    .description('fold a LoRA adapter (PEFT layout) into its base checkpoint: W + (alpha/r) A B')
    .requiredOption('--model <dir>', 'base checkpoint folder')
    .requiredOption('--adapter <dir>', 'adapter folder (adapter_config.json, adapter_model.safetensors)')
    .requiredOption('--out <dir>', 'output checkpoint folder')
    .addOption(backendOption())
    .option('--json', 'print a JSON summary')
    .action(async (o) => {
      await initBackend(o.backend as BackendName);
      const { model, tokenizer } = loadCheckpoint(o.model);
      const lora = Lora.load(o.adapter, model);
      const merged = lora.mergedWeights(model);
      for (const [name, w] of merged) model.p(name).assign(w);
      tf.dispose([...merged.values()]);
      lora.dispose();
      model.adapter = null;
      await saveCheckpoint(o.out, model, tokenizer);
      const summary = { out: o.out, merged_layers: merged.size, rank: lora.config.rank, alpha: lora.config.alpha };
      process.stdout.write(o.json ? JSON.stringify(summary) + '\n' : `wrote ${o.out}: ${merged.size} layers merged\n`);
      model.dispose();
    });
}

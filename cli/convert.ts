// rlhf convert: rewrite a checkpoint folder with its weights stored as F32, F16 or BF16.
import { Command, Option } from 'commander';
import { BackendName, initBackend } from '../backend/backend.js';
import { loadCheckpoint, saveCheckpoint } from '../lm/checkpoint.js';
import { backendOption } from './options.js';

export function convertCommand(): Command {
  return new Command('convert')
    .description('rewrite a checkpoint folder (any family) with another weight precision (f16 halves the file)')
    .requiredOption('--model <dir>', 'checkpoint folder to read')
    .requiredOption('--out <dir>', 'checkpoint folder to write')
    .addOption(new Option('--dtype <dtype>', 'stored precision').choices(['f32', 'f16', 'bf16']).default('f16'))
    .addOption(backendOption())
    .option('--json', 'print a JSON summary')
    .action(async (o) => {
      await initBackend(o.backend as BackendName);
      const { model, tokenizer } = loadCheckpoint(o.model);
      const dtype = String(o.dtype).toUpperCase() as 'F32' | 'F16' | 'BF16';
      await saveCheckpoint(o.out, model, tokenizer, dtype);
      const summary = { out: o.out, dtype, params: model.numParams() };
      process.stdout.write(o.json ? JSON.stringify(summary) + '\n' : `wrote ${o.out} (${dtype}, ${summary.params.toLocaleString('en')} parameters)\n`);
      model.dispose();
    });
}

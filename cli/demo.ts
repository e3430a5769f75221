// rlhf demo: the end-to-end job that runs on a fresh machine with nothing but npm packages.
// Trains a tokenizer and a small GPT-2 on Moby-Dick, reports held-out loss before and after,
// saves a Hugging Face checkpoint, and samples from it. (The shipped starter model and the
// labeling/RL loop build on these same pieces.)
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { join } from 'node:path';
import { corpusText } from '../data/corpora.js';
import { AdamW } from '../lm/adamw.js';
import { BackendName, initBackend } from '../lm/backend.js';
import { countWords, trainBpe } from '../lm/bpe-train.js';
import { saveCheckpoint } from '../lm/checkpoint.js';
import { validateConfig } from '../lm/config.js';
import { generate } from '../lm/generate.js';
import { GPT } from '../lm/model.js';
import { Rng } from '../lm/rng.js';
import { Tokenizer } from '../lm/tokenizer.js';
import { randomWindows, trainStep } from '../lm/train-step.js';
import { backendOption, float, int } from './options.js';
import { Progress } from './progress.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description('train a tokenizer and a small GPT-2 on Moby-Dick, save it, and sample from it')
    .option('--out <dir>', 'checkpoint folder to write', join('.rlhf', 'demo'))
    .option('--steps <n>', 'training steps', int(1), 150)
    .option('--batch <n>', 'sequences per step', int(1), 8)
    .option('--ctx <n>', 'tokens per sequence', int(8), 128)
    .option('--lr <lr>', 'peak AdamW learning rate', float(0), 2e-3)
    .option('--seed <s>', 'seed for data order, init and sampling', int(0), 0)
    .addOption(backendOption())
    .option('--json', 'print a JSON summary at the end')
    .action(async (o) => {
      const backend = await initBackend(o.backend as BackendName);
      const text = corpusText('moby-dick');
      const tok = new Tokenizer(trainBpe(countWords(text), { vocabSize: 2048 }));
      const ids = tok.encode(text);
      const split = Math.floor(ids.length * 0.95); // the last 5% is held out
      const train = ids.slice(0, split);
      const heldOut = ids.slice(split);
      process.stderr.write(`tokenizer: ${tok.vocabSize} tokens; corpus: ${ids.length.toLocaleString('en')} tokens (${heldOut.length.toLocaleString('en')} held out)\n`);
      const config = validateConfig({ vocabSize: tok.vocabSize, nPositions: o.ctx, nEmbd: 128, nLayer: 4, nHead: 4, eosTokenId: tok.eosId!, bosTokenId: tok.eosId! });
      const model = GPT.init(config, o.seed);
      const opt = new AdamW(model.params, { lr: o.lr, weightDecay: 0.1, beta2: 0.99, maxGradNorm: 1 });
      const evalLoss = () => {
        const rng = new Rng(1234); // the same held-out windows every time
        let s = 0;
        for (let i = 0; i < 4; i++) s += tf.tidy(() => model.loss(tf.tensor2d(randomWindows(heldOut, o.batch, o.ctx, rng), undefined, 'int32')).dataSync()[0]);
        return s / 4;
      };
      const before = evalLoss();
      const rng = new Rng(o.seed);
      const bar = new Progress('train', o.steps, 'tok');
      const warmup = Math.max(1, Math.floor(o.steps / 10));
      let last = { loss: NaN, gradNorm: NaN };
      for (let step = 1; step <= o.steps; step++) {
        // linear warmup, then cosine decay to 10% of the peak
        opt.opts.lr = step <= warmup ? (o.lr * step) / warmup : o.lr * (0.1 + 0.45 * (1 + Math.cos((Math.PI * (step - warmup)) / (o.steps - warmup))));
        last = trainStep(model, opt, randomWindows(train, o.batch, o.ctx, rng));
        bar.update(step, step * o.batch * o.ctx, `loss ${last.loss.toFixed(3)}`);
      }
      const after = evalLoss();
      await saveCheckpoint(o.out, model, tok);
      const samples = await generate(model, tok, ['Call me', 'The whale', 'It was'], { maxNewTokens: 40, temperature: 0.8, topK: 0, topP: 0.95, seed: o.seed });
      const summary = {
        backend: backend.name, params: model.numParams(), steps: o.steps, tokens_seen: o.steps * o.batch * o.ctx,
        held_out_loss_before: before, held_out_loss_after: after, checkpoint: o.out,
        samples: samples.map((s) => s.prompt + s.text),
      };
      if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else {
        process.stdout.write(`held-out loss ${before.toFixed(3)} -> ${after.toFixed(3)} (perplexity ${Math.exp(before).toFixed(0)} -> ${Math.exp(after).toFixed(1)})\n`);
        process.stdout.write(`saved ${o.out}; try: rlhf generate --model ${o.out} --prompt "Call me"\n\n`);
        for (const s of summary.samples) process.stdout.write(`${s}\n---\n`);
      }
      model.dispose();
    });
}

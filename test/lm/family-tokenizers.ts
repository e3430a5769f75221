// Small tokenizer.json files with the structure the real families ship (normalizer, pre-tokenizer,
// post-processor, decoder, added tokens as in Qwen2/2.5/3's, Llama 3's and SmolLM2's files) over a small
// vocabulary trained on Moby-Dick, plus the tokenizer_config.json / generation_config.json of
// test/lm/fixtures/*.json with the real ids mapped onto this vocabulary by token.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countWords, trainBpe } from '../../lm/bpe-train.js';
import { Tokenizer } from '../../lm/tokenizer.js';
import { mobyDickText } from './fixtures.js';

type Json = Record<string, unknown>;
export type Family = 'qwen2' | 'llama3' | 'smollm2';
export type ChatFixture = 'qwen2.5-instruct' | 'llama-3.2-instruct' | 'smollm2-instruct' | 'qwen3';

/** Qwen2's split (Qwen2, Qwen2.5, Qwen3): digits one by one (\p{N}), case-insensitive contractions. */
export const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** Llama 3's split (tiktoken's cl100k pattern): digits in runs of up to three. */
export const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const ADDED: Record<Family, [string, boolean][]> = {
  qwen2: [['<|endoftext|>', true], ['<|im_start|>', true], ['<|im_end|>', true], ['<tool_call>', false], ['</tool_call>', false], ['<think>', false], ['</think>', false]],
  llama3: [['<|begin_of_text|>', true], ['<|end_of_text|>', true], ['<|start_header_id|>', true], ['<|end_header_id|>', true], ['<|eom_id|>', true], ['<|eot_id|>', true], ['<|python_tag|>', true]],
  smollm2: [['<|endoftext|>', true], ['<|im_start|>', true], ['<|im_end|>', true]],
};

/** Real ids of the fixtures' generation_config.json -> token. */
const REAL_IDS: Record<ChatFixture, Record<number, string>> = {
  'qwen2.5-instruct': { 151643: '<|endoftext|>', 151644: '<|im_start|>', 151645: '<|im_end|>' },
  qwen3: { 151643: '<|endoftext|>', 151644: '<|im_start|>', 151645: '<|im_end|>' },
  'llama-3.2-instruct': { 128000: '<|begin_of_text|>', 128001: '<|end_of_text|>', 128008: '<|eom_id|>', 128009: '<|eot_id|>' },
  'smollm2-instruct': { 0: '<|endoftext|>', 1: '<|im_start|>', 2: '<|im_end|>' },
};
export const FAMILY_OF: Record<ChatFixture, Family> = { 'qwen2.5-instruct': 'qwen2', qwen3: 'qwen2', 'llama-3.2-instruct': 'llama3', 'smollm2-instruct': 'smollm2' };

let base: { vocab: Record<string, number>; merges: string[] } | null = null;
function baseModel() {
  if (!base) {
    const text = mobyDickText(2) + ' In 1851, 2024 and 12345 whales; 3.14159 of them said "I\'m 42".\n'.repeat(30);
    const m = trainBpe(countWords(text), { vocabSize: 600, specialTokens: [] }).model as { vocab: Record<string, number>; merges: string[] };
    base = { vocab: m.vocab, merges: m.merges };
  }
  return base;
}

const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean, useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: useRegex });
const split = (regex: string) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false });

/** tokenizer.json of a family: added tokens after the byte-level vocabulary (before it for SmolLM2, whose specials are ids 0..). */
export function familyTokenizerJson(family: Family): Json {
  const { vocab, merges } = baseModel();
  const specials = ADDED[family];
  const first = family === 'smollm2' ? 0 : Object.keys(vocab).length;
  const shift = family === 'smollm2' ? specials.length : 0;
  const v: Record<string, number> = Object.fromEntries(Object.entries(vocab).map(([t, id]) => [t, id + shift]));
  const added = specials.map(([content, special], i) => {
    v[content] = first + i;
    return { id: first + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special };
  });
  const model = { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: family === 'llama3' ? null : '', end_of_word_suffix: family === 'llama3' ? null : '', fuse_unk: false, byte_fallback: false, ignore_merges: family === 'llama3', vocab: v, merges };
  const common = { version: '1.0', truncation: null, padding: null, added_tokens: added };
  if (family === 'qwen2') {
    return {
      ...common,
      normalizer: { type: 'NFC' },
      pre_tokenizer: { type: 'Sequence', pretokenizers: [split(QWEN2_SPLIT), byteLevel(false, false, false)] },
      post_processor: byteLevel(false, false, false),
      decoder: byteLevel(false, false, false),
      model,
    };
  }
  if (family === 'llama3') {
    const bos = '<|begin_of_text|>';
    return {
      ...common,
      normalizer: null,
      pre_tokenizer: { type: 'Sequence', pretokenizers: [split(LLAMA3_SPLIT), byteLevel(false, true, false)] },
      post_processor: {
        type: 'Sequence',
        processors: [
          byteLevel(true, false, true),
          {
            type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
            pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
            special_tokens: { [bos]: { id: bos, ids: [v[bos]], tokens: [bos] } },
          },
        ],
      },
      decoder: byteLevel(true, true, true),
      model,
    };
  }
  return { ...common, normalizer: null, pre_tokenizer: byteLevel(false, true, true), post_processor: byteLevel(false, true, true), decoder: byteLevel(false, true, true), model };
}

/** A fixture: {model, tokenizer_config, generation_config} with the real ids. */
export function chatFixture(name: ChatFixture): { model: string; tokenizer_config: Json; generation_config: Json } {
  return JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', `${name}.json`), 'utf8'));
}

/** The family tokenizer with a fixture's tokenizer_config.json and generation_config.json (ids mapped to this vocabulary). */
export function familyTokenizer(name: ChatFixture): Tokenizer {
  const json = familyTokenizerJson(FAMILY_OF[name]);
  const f = chatFixture(name);
  const bare = new Tokenizer(json);
  const map = (id: unknown) => bare.tokenToId(REAL_IDS[name][id as number])!;
  const gen = Object.fromEntries(Object.entries(f.generation_config).map(([k, v]) => [k, Array.isArray(v) ? v.map(map) : map(v)]));
  return new Tokenizer(json, 'tokenizer.json', { config: f.tokenizer_config, generationConfig: gen });
}

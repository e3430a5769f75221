// Byte-level BPE tokenizer as GPT-2 uses it, read from and written to Hugging Face's tokenizer.json.
// Encoding and decoding go through @huggingface/tokenizers (tokenizers.js), the maintained JS port.
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { jsonError } from './json-error.js';

export class TokenizerError extends Error {}

export class Tokenizer {
  /** The tokenizer.json object, kept verbatim so that saving writes back what was read. */
  readonly json: Record<string, unknown>;
  readonly vocabSize: number;
  /** Id of <|endoftext|> (or the last special token) if the vocabulary has one. */
  readonly eosId: number | null;
  private readonly hf: HFTokenizer;

  constructor(json: Record<string, unknown>, file = 'tokenizer.json') {
    const model = json.model as Record<string, unknown> | undefined;
    if (!model || model.type !== 'BPE' || typeof model.vocab !== 'object' || !Array.isArray(model.merges)) {
      throw new TokenizerError(`${file}: expected a BPE model with vocab and merges`);
    }
    const pre = json.pre_tokenizer as Record<string, unknown> | null;
    if (!pre || pre.type !== 'ByteLevel') {
      throw new TokenizerError(`${file}: only byte-level BPE (pre_tokenizer type ByteLevel, as GPT-2) is supported`);
    }
    this.json = json;
    try {
      this.hf = new HFTokenizer(json, { clean_up_tokenization_spaces: false });
    } catch (e) {
      throw new TokenizerError(`${file}: ${(e as Error).message}`);
    }
    const vocab = this.hf.get_vocab(true);
    let max = -1;
    for (const id of vocab.values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    const eos = this.hf.token_to_id('<|endoftext|>');
    const added = (json.added_tokens as { id: number; special?: boolean }[] | undefined) ?? [];
    const lastSpecial = added.filter((t) => t.special).at(-1)?.id;
    this.eosId = eos ?? lastSpecial ?? null;
  }

  /** Load tokenizer.json, given the file or the folder that holds it. */
  static load(path: string): Tokenizer {
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'tokenizer.json');
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new TokenizerError(`${path}: ${e instanceof SyntaxError ? jsonError(e) : (e as Error).message}`);
    }
    if (typeof json !== 'object' || json === null) throw new TokenizerError(`${path}: expected a JSON object`);
    return new Tokenizer(json as Record<string, unknown>, path);
  }

  /** Token ids of text; GPT-2 adds no BOS/EOS of its own. Special-token strings in text map to their ids. */
  encode(text: string): number[] {
    return this.hf.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text of ids, special tokens included unless skipSpecial. Exact inverse of encode for valid Unicode. */
  decode(ids: number[], opts: { skipSpecial?: boolean } = {}): string {
    if (!ids.length) return ''; // the HF decoder throws on an empty list (a completion that is only EOS)
    return this.hf.decode(ids, { skip_special_tokens: opts.skipSpecial ?? false, clean_up_tokenization_spaces: false });
  }
}

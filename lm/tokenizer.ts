// Byte-level BPE tokenizers as GPT-2, Llama 3, Qwen2/2.5/3 and SmolLM2 ship them, read from and written to
// Hugging Face's tokenizer.json (+ tokenizer_config.json, generation_config.json, chat_template.jinja).
// Encoding and decoding go through @huggingface/tokenizers (tokenizers.js), the maintained JS port: it runs
// the file's normalizer (Qwen's NFC), pre-tokenizer (GPT-2's ByteLevel regex, or a Split regex followed by
// ByteLevel as Llama 3 and Qwen do), added tokens and decoder. Special tokens come from special-tokens.ts.
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BYTE_TO_CHAR } from './byte-level.js';
import { jsonError } from './json-error.js';
import { extraAddedTokens, JsonObject, readSpecialTokens, SpecialTokenError, TokenizerExtras } from './special-tokens.js';

export class TokenizerError extends Error {}

const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
/** End-of-text tokens to fall back on when no config names one, most common first. */
const EOS_NAMES = ['<|endoftext|>', '<|end_of_text|>', '</s>', '<eos>'];

export interface EncodeOptions {
  /**
   * Add the tokens the tokenizer adds around a text: BOS where the tokenizer adds one (Llama 3's
   * <|begin_of_text|>; GPT-2, Qwen and SmolLM2 add none). Default true. A text that already begins with
   * BOS (a rendered chat template writes it itself) does not get a second one.
   */
  addSpecialTokens?: boolean;
}

export class Tokenizer {
  /** The tokenizer.json object, kept verbatim so that saving writes back what was read. */
  readonly json: JsonObject;
  /** tokenizer_config.json and generation_config.json as read (null when absent), kept for saving. */
  readonly config: JsonObject | null;
  readonly generationConfig: JsonObject | null;
  readonly vocabSize: number;
  /**
   * The end-of-sequence token: tokenizer_config's eos_token, else generation_config's first eos_token_id,
   * else <|endoftext|>, <|end_of_text|>, </s> or <eos> when the vocabulary has one, else the last special token.
   */
  readonly eosId: number | null;
  /** Every id that ends generation (generation_config's eos_token_id list and eosId), eosId first. */
  readonly eosIds: readonly number[];
  readonly bosId: number | null;
  readonly padId: number | null;
  /** Token strings as a chat template sees them (bos_token, eos_token, pad_token); null when there is none. */
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly padToken: string | null;
  /** Whether encode() prepends bosId (tokenizer_config's add_bos_token, else what the post-processor does). */
  readonly addBos: boolean;
  /** The Jinja chat template (chat_template.jinja, else tokenizer_config's chat_template); null when there is none. */
  readonly chatTemplate: string | null;
  private readonly chatTemplateFile: string | null;
  private readonly hf: HFTokenizer;
  private readonly special: Set<number>;

  constructor(json: JsonObject, file = 'tokenizer.json', extras: TokenizerExtras = {}) {
    const model = json.model as JsonObject | undefined;
    if (!model || model.type !== 'BPE' || typeof model.vocab !== 'object' || !Array.isArray(model.merges)) {
      throw new TokenizerError(`${file}: expected a BPE model with vocab and merges`);
    }
    const pre = json.pre_tokenizer as JsonObject | null;
    const steps = pre?.type === 'Sequence' ? ((pre.pretokenizers as JsonObject[] | undefined) ?? []) : pre ? [pre] : [];
    if (!steps.some((s) => s?.type === 'ByteLevel') || (json.decoder as JsonObject | null)?.type !== 'ByteLevel') {
      throw new TokenizerError(`${file}: only byte-level BPE (a ByteLevel pre-tokenizer and decoder, as GPT-2, Llama 3 and Qwen use) is supported`);
    }
    this.json = json;
    this.config = extras.config ?? null;
    this.generationConfig = extras.generationConfig ?? null;
    this.chatTemplateFile = extras.chatTemplate ?? null;
    let extra;
    try {
      extra = extraAddedTokens(json, this.config, extras.dir);
      const merged = extra.length ? { ...json, added_tokens: [...((json.added_tokens as unknown[]) ?? []), ...extra] } : json;
      this.hf = new HFTokenizer(merged, { clean_up_tokenization_spaces: false });
    } catch (e) {
      throw new TokenizerError(e instanceof SpecialTokenError ? e.message : `${file}: ${(e as Error).message}`);
    }
    const vocab = this.hf.get_vocab(true);
    let max = -1;
    for (const id of vocab.values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    const added = [...((json.added_tokens as { id: number; special?: boolean }[] | undefined) ?? []), ...extra];
    this.special = new Set(added.filter((t) => t.special).map((t) => t.id));

    let s;
    try {
      s = readSpecialTokens(extras, (t) => this.tokenToId(t), this.vocabSize);
    } catch (e) {
      throw new TokenizerError((e as Error).message);
    }
    const fallbackEos = EOS_NAMES.map((n) => this.tokenToId(n)).find((id) => id !== null) ?? added.filter((t) => t.special).at(-1)?.id ?? null;
    this.eosId = s.eosId ?? fallbackEos;
    this.eosIds = s.eosId === null ? (this.eosId === null ? [] : [this.eosId]) : s.eosIds;
    this.eosToken = s.eosToken ?? (this.eosId === null ? null : this.idToToken(this.eosId));
    this.padId = s.padId;
    this.padToken = s.padToken;
    this.chatTemplate = s.chatTemplate;
    // What the post-processor puts before a text (Llama 3's TemplateProcessing: <|begin_of_text|> $A).
    const bare = this.hf.encode('a', { add_special_tokens: false }).ids;
    const full = this.hf.encode('a', { add_special_tokens: true }).ids;
    const prefix = full.length > bare.length && full[0] !== bare[0] ? full[0] : null;
    this.bosId = s.bosId ?? prefix;
    this.bosToken = s.bosToken ?? (this.bosId === null ? null : this.idToToken(this.bosId));
    this.addBos = s.addBos ?? (prefix !== null && prefix === this.bosId);
  }

  /**
   * Load tokenizer.json, given the file or the folder that holds it, with tokenizer_config.json,
   * generation_config.json and chat_template.jinja from the same folder when they are there.
   */
  static load(path: string): Tokenizer {
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'tokenizer.json');
    const dir = dirname(path);
    const readJson = (p: string): JsonObject => {
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(p, 'utf8'));
      } catch (e) {
        throw new TokenizerError(`${p}: ${e instanceof SyntaxError ? jsonError(e) : (e as Error).message}`);
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TokenizerError(`${p}: expected a JSON object`);
      return json as JsonObject;
    };
    const optional = (name: string) => (existsSync(join(dir, name)) ? readJson(join(dir, name)) : null);
    const jinja = join(dir, 'chat_template.jinja');
    return new Tokenizer(readJson(path), path, {
      config: optional('tokenizer_config.json'),
      generationConfig: optional('generation_config.json'),
      chatTemplate: existsSync(jinja) ? readFileSync(jinja, 'utf8') : null,
      dir,
    });
  }

  /**
   * The files to write beside a checkpoint, name -> contents: tokenizer.json always, and
   * tokenizer_config.json, generation_config.json and chat_template.jinja when they were read.
   */
  files(): Record<string, string> {
    const out: Record<string, string> = { 'tokenizer.json': JSON.stringify(this.json) };
    if (this.config) out['tokenizer_config.json'] = JSON.stringify(this.config, null, 2) + '\n';
    if (this.generationConfig) out['generation_config.json'] = JSON.stringify(this.generationConfig, null, 2) + '\n';
    if (this.chatTemplateFile !== null) out['chat_template.jinja'] = this.chatTemplateFile;
    return out;
  }

  /** Token ids of text. Added-token strings in text (<|im_end|>, <|eot_id|>) map to their single ids. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids = this.hf.encode(text, { add_special_tokens: false }).ids;
    if ((opts.addSpecialTokens ?? true) && this.addBos && this.bosId !== null && ids[0] !== this.bosId) ids.unshift(this.bosId);
    return ids;
  }

  /** Text of ids, special tokens included unless skipSpecial. Exact inverse of encode for valid Unicode. */
  decode(ids: number[], opts: { skipSpecial?: boolean } = {}): string {
    if (!ids.length) return ''; // the HF decoder throws on an empty list (a completion that is only EOS)
    return this.hf.decode(ids, { skip_special_tokens: opts.skipSpecial ?? false, clean_up_tokenization_spaces: false });
  }

  /** Id of a token string (an added token such as "<|im_end|>", or a byte-level vocabulary entry); null when absent. */
  tokenToId(token: string): number | null {
    return this.hf.token_to_id(token) ?? null;
  }

  idToToken(id: number): string | null {
    return this.hf.id_to_token(id) ?? null;
  }

  /** Whether id is a special token (dropped by decode with skipSpecial). */
  isSpecial(id: number): boolean {
    return this.special.has(id);
  }

  /** The pieces the normalizer and pre-tokenizer cut text into before BPE (no added tokens), as text. */
  preTokenize(text: string): string[] {
    const t = this.hf.normalizer ? this.hf.normalizer.normalize(text) : text;
    const pieces: string[] = this.hf.pre_tokenizer ? this.hf.pre_tokenizer.pre_tokenize(t) : [t];
    const utf8 = new TextDecoder();
    return pieces.map((p) => utf8.decode(Uint8Array.from([...p], (c) => CHAR_TO_BYTE.get(c)!)));
  }
}

// Special tokens of a Hugging Face tokenizer folder, as transformers reads them: tokenizer_config.json
// (bos_token, eos_token, pad_token, add_bos_token, chat_template, added_tokens_decoder), an optional
// chat_template.jinja beside it (which wins over the config's chat_template, as in transformers), and
// generation_config.json, whose eos_token_id may be one id or a list: every id in it ends generation.

export type JsonObject = Record<string, unknown>;

export class SpecialTokenError extends Error {}

/** The files beside tokenizer.json that carry special tokens; each is null when absent. */
export interface TokenizerExtras {
  /** tokenizer_config.json */
  config?: JsonObject | null;
  /** generation_config.json */
  generationConfig?: JsonObject | null;
  /** chat_template.jinja */
  chatTemplate?: string | null;
  /** Where they were read from, for error messages (a folder, or '' in tests). */
  dir?: string;
}

export interface SpecialTokens {
  bosToken: string | null;
  bosId: number | null;
  eosToken: string | null;
  eosId: number | null;
  /** Every id that ends generation, eosId first; empty when there is none. */
  eosIds: number[];
  padToken: string | null;
  padId: number | null;
  /** add_bos_token from the config; null when the config does not say (the post-processor decides). */
  addBos: boolean | null;
  chatTemplate: string | null;
}

export interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
}

const where = (dir: string | undefined, file: string) => (dir ? `${dir.replace(/\/$/, '')}/${file}` : file);

/** A token field: a string, an AddedToken object {content, ...}, or null/absent. */
function tokenContent(v: unknown, field: string, file: string): string | null {
  if (v == null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  throw new SpecialTokenError(`${file}: ${field} must be a string or {"content": string}, got ${JSON.stringify(v)}`);
}

/** chat_template: a string, or a list of {name, template} of which "default" (else the first) is used. */
function chatTemplateOf(v: unknown, file: string): string | null {
  if (v == null) return null;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length) {
    const named = v as { name?: unknown; template?: unknown }[];
    const t = (named.find((x) => x?.name === 'default') ?? named[0])?.template;
    if (typeof t === 'string') return t;
  }
  throw new SpecialTokenError(`${file}: chat_template must be a string or a list of {"name", "template"}`);
}

/**
 * Tokens of tokenizer_config.json's added_tokens_decoder that tokenizer.json lacks, to be added to it (as
 * transformers does); throws when the two files give one id different contents.
 */
export function extraAddedTokens(json: JsonObject, config: JsonObject | null | undefined, dir?: string): AddedToken[] {
  const dec = config?.added_tokens_decoder;
  if (dec == null) return [];
  const file = where(dir, 'tokenizer_config.json');
  if (typeof dec !== 'object' || Array.isArray(dec)) throw new SpecialTokenError(`${file}: added_tokens_decoder must be an object of id -> token`);
  const have = new Map(((json.added_tokens as AddedToken[] | undefined) ?? []).map((t) => [t.id, t.content]));
  const out: AddedToken[] = [];
  for (const [k, v] of Object.entries(dec as JsonObject)) {
    const id = Number(k);
    const content = tokenContent(v, `added_tokens_decoder["${k}"]`, file);
    if (!Number.isInteger(id) || id < 0 || content === null) throw new SpecialTokenError(`${file}: added_tokens_decoder["${k}"] must map an id to a token`);
    const prev = have.get(id);
    if (prev !== undefined) {
      if (prev !== content) throw new SpecialTokenError(`${file}: added_tokens_decoder["${k}"] is ${JSON.stringify(content)} but tokenizer.json has ${JSON.stringify(prev)}`);
      continue;
    }
    const t = v as Partial<AddedToken>;
    out.push({ id, content, special: t.special ?? true, single_word: t.single_word ?? false, lstrip: t.lstrip ?? false, rstrip: t.rstrip ?? false, normalized: t.normalized ?? false });
  }
  return out;
}

/** Resolve the special tokens; `lookup` maps a token to its id (null when not in the vocabulary). */
export function readSpecialTokens(x: TokenizerExtras, lookup: (token: string) => number | null, vocabSize: number): SpecialTokens {
  const cfgFile = where(x.dir, 'tokenizer_config.json');
  const genFile = where(x.dir, 'generation_config.json');
  const cfg = x.config ?? null;
  const gen = x.generationConfig ?? null;
  const idOf = (field: string): [string | null, number | null] => {
    const t = tokenContent(cfg?.[field], field, cfgFile);
    if (t === null) return [null, null];
    const id = lookup(t);
    if (id === null) throw new SpecialTokenError(`${cfgFile}: ${field} ${JSON.stringify(t)} is not in the vocabulary`);
    return [t, id];
  };
  const genIds = (field: string): number[] => {
    const v = gen?.[field];
    if (v == null) return [];
    const list = Array.isArray(v) ? v : [v];
    for (const id of list) {
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= vocabSize) {
        throw new SpecialTokenError(`${genFile}: ${field} must be an id or a list of ids in 0..${vocabSize - 1}, got ${JSON.stringify(v)}`);
      }
    }
    return list as number[];
  };
  const [bosToken, bosId] = idOf('bos_token');
  const [eosToken, eosCfg] = idOf('eos_token');
  const [padToken, padId] = idOf('pad_token');
  const genEos = genIds('eos_token_id');
  const eosId = eosCfg ?? genEos[0] ?? null;
  const eosIds = eosId === null ? [] : [...new Set([eosId, ...genEos])];
  const addBos = cfg?.add_bos_token;
  if (addBos != null && typeof addBos !== 'boolean') throw new SpecialTokenError(`${cfgFile}: add_bos_token must be true or false`);
  if (addBos === true && bosId === null) throw new SpecialTokenError(`${cfgFile}: add_bos_token is true but there is no bos_token`);
  const chatTemplate = x.chatTemplate ?? chatTemplateOf(cfg?.chat_template, cfgFile);
  return { bosToken, bosId, eosToken, eosId, eosIds, padToken, padId, addBos: addBos ?? null, chatTemplate };
}

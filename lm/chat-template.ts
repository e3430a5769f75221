// Chat templates: a model's Jinja chat_template rendered with @huggingface/jinja (the JS engine Hugging
// Face maintains for transformers.js; trim_blocks and lstrip_blocks as transformers sets them), and
// conversations turned into token ids with an assistant-token mask for SFT.
//
// The mask comes from rendering prefixes, which works for any template: an assistant turn starts where
// the conversation before it, rendered with the generation prompt, ends, and stops where the conversation
// up to and including it ends (trailing whitespace, such as ChatML's "\n" after <|im_end|>, left out).
// Each piece is encoded on its own, so the assistant tokens are exactly those the model samples at
// inference after the prompt. Templates that render an earlier turn differently once later turns follow
// (Qwen3 drops <think> from turns before the last user message and adds an empty one to the last) break
// this; tokenizeChat detects it and throws, naming the message.
import { Template } from '@huggingface/jinja';
import { Tokenizer } from './tokenizer.js';

export class ChatTemplateError extends Error {}

/** One message of a conversation, as in TRL's conversational format; extra fields (tool_calls, reasoning_content) pass through to the template. */
export interface ChatMessage {
  role: string;
  content: string | null;
  [field: string]: unknown;
}

export interface RenderOptions {
  /** Append the header of an assistant turn (the prompt for generation). Default false. */
  addGenerationPrompt?: boolean;
  /** bos_token / eos_token as the template sees them; absent (null) tokens render as ''. */
  bosToken?: string | null;
  eosToken?: string | null;
  /** Tool schemas, for templates that describe tools (Qwen2.5, Llama 3.2). */
  tools?: unknown[] | null;
  /** More template variables, as transformers' apply_chat_template(**kwargs): date_string, enable_thinking, ... */
  vars?: Record<string, unknown>;
}

const compiled = new Map<string, Template>();

function compile(template: string): Template {
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new ChatTemplateError(`chat template does not parse: ${(e as Error).message}`);
    }
    if (compiled.size > 32) compiled.clear();
    compiled.set(template, t);
  }
  return t;
}

/** The text of a conversation under a chat template. */
export function renderChat(template: string, messages: ChatMessage[], opts: RenderOptions = {}): string {
  const t = compile(template);
  const vars: Record<string, unknown> = { ...opts.vars, messages, tools: opts.tools ?? null, add_generation_prompt: opts.addGenerationPrompt ?? false };
  if (opts.bosToken != null) vars.bos_token = opts.bosToken;
  if (opts.eosToken != null) vars.eos_token = opts.eosToken;
  try {
    return t.render(vars);
  } catch (e) {
    throw new ChatTemplateError(`chat template: ${(e as Error).message}`);
  }
}

/** Check that x is a conversation: a non-empty list of {role: string, content: string | null, ...}. */
export function checkMessages(x: unknown, field = 'messages'): ChatMessage[] {
  if (!Array.isArray(x) || !x.length) throw new ChatTemplateError(`${field} must be a non-empty list of {"role", "content"} messages`);
  x.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new ChatTemplateError(`${field}[${i}] must be an object {"role", "content"}`);
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== 'string' || !role) throw new ChatTemplateError(`${field}[${i}].role must be a non-empty string`);
    if (typeof content !== 'string' && !(content === null && role === 'assistant')) throw new ChatTemplateError(`${field}[${i}].content must be a string`);
  });
  return x as ChatMessage[];
}

/** Render with a tokenizer's template and special tokens; throws naming the problem when it has no template. */
export function applyChatTemplate(tok: Tokenizer, messages: ChatMessage[], opts: Omit<RenderOptions, 'bosToken' | 'eosToken'> & { template?: string } = {}): string {
  const template = opts.template ?? tok.chatTemplate;
  if (template == null) throw new ChatTemplateError('the tokenizer has no chat_template (tokenizer_config.json or chat_template.jinja)');
  return renderChat(template, messages, { ...opts, bosToken: tok.bosToken, eosToken: tok.eosToken });
}

export interface ChatTokens {
  /** The whole conversation as rendered (no generation prompt). */
  text: string;
  ids: number[];
  /** mask[k] is 1 when ids[k] belongs to an assistant turn: its content and the end-of-turn token after it. */
  mask: number[];
  /** [start, end) character spans of the assistant turns in text. */
  spans: [number, number][];
}

/**
 * Token ids of a conversation and which of them are the assistant's (for loss on assistant turns only).
 * Like apply_chat_template(tokenize=True), no BOS is added beyond what the template writes.
 */
export function tokenizeChat(
  tok: Tokenizer, messages: ChatMessage[],
  opts: Omit<RenderOptions, 'bosToken' | 'eosToken' | 'addGenerationPrompt'> & { template?: string; lastTurnOnly?: boolean } = {},
): ChatTokens {
  const { lastTurnOnly, ...renderOpts } = opts;
  const render = (msgs: ChatMessage[], gen: boolean) => applyChatTemplate(tok, msgs, { ...renderOpts, addGenerationPrompt: gen });
  const text = render(messages, false);
  const spans: [number, number][] = [];
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    if (lastTurnOnly && i !== messages.length - 1) return; // earlier turns are context only
    if (i === 0) throw new ChatTemplateError('messages[0] is an assistant message: a conversation starts with a system or user turn');
    const before = render(messages.slice(0, i), true);
    const upTo = render(messages.slice(0, i + 1), false);
    if (!upTo.startsWith(before) || !text.startsWith(upTo)) {
      const which = !upTo.startsWith(before) ? `the generation prompt after messages[${i - 1}] is not how messages[${i}] begins` : `messages[${i}] renders differently once later messages follow`;
      throw new ChatTemplateError(
        `chat template does not render this conversation prefix by prefix (${which}; Qwen3's template, for one, drops <think> from turns before the last user message), so the assistant tokens cannot be found: split it into one conversation per assistant turn`,
      );
    }
    const end = Math.max(before.length, upTo.trimEnd().length);
    const prev = spans.at(-1);
    if (prev && before.length < prev[1]) throw new ChatTemplateError(`messages[${i}] starts inside the previous assistant turn`);
    spans.push([before.length, end]);
  });
  const ids: number[] = [];
  const mask: number[] = [];
  const piece = (from: number, to: number, bit: number) => {
    if (to <= from) return;
    const p = tok.encode(text.slice(from, to), { addSpecialTokens: false });
    for (const id of p) {
      ids.push(id);
      mask.push(bit);
    }
  };
  let at = 0;
  for (const [s, e] of spans) {
    piece(at, s, 0);
    piece(s, e, 1);
    at = e;
  }
  piece(at, text.length, 0);
  return { text, ids, mask, spans };
}

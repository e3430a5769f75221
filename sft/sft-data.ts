// Training data for SFT: plain text (language modelling on random windows) or JSONL examples, each line
// either a prompt/completion pair (loss on the completion and its EOS only) or a conversation in TRL's
// format, {"messages": [{"role", "content"}, ...]}, rendered with the model's chat template (loss on the
// assistant turns only: their content and the end-of-turn token after each). Every batch is a pure
// function of (seed, step, micro), so a resumed run sees exactly the batches an unbroken run would have.
import { readFileSync } from 'node:fs';
import { applyChatTemplate, ChatMessage, ChatTemplateError, ChatTokens, checkMessages, tokenizeChat } from '../lm/chat-template.js';
import { hash01, mix, Rng } from '../lm/rng.js';
import { Tokenizer } from '../lm/tokenizer.js';
import { jsonError } from '../lm/json-error.js';

export interface Batch {
  /** [B, T+1] token ids; inputs are [:, :-1], targets [:, 1:]. */
  ids: number[][];
  /** [B, T] 1 where the target counts in the loss; absent means all count. */
  lossMask?: number[][];
  /** [B, T+1] 1 for real tokens, 0 for right padding; absent means no padding. */
  attentionMask?: number[][];
}

export interface SftData {
  /** 'pairs': JSONL examples (prompt/completion pairs and conversations). */
  kind: 'text' | 'pairs';
  /** Training tokens (text) or examples (pairs). */
  trainSize: number;
  heldOutSize: number;
  /** The micro-batch of one optimizer step. */
  trainBatch(step: number, micro: number): Batch;
  /** Fixed held-out batches, the same at every evaluation. */
  evalBatches(count: number): Batch[];
}

export class DataError extends Error {}

/** Read the files named in a config: corpus texts are resolved by the caller and passed in `texts`. */
export function loadSftData(
  files: { name: string; text: string }[],
  tok: Tokenizer,
  o: { seqLen: number; batchSize: number; gradAccum: number; heldOut: number; seed: number },
): SftData {
  const pairs = files.filter((f) => f.name.endsWith('.jsonl'));
  if (pairs.length && pairs.length !== files.length) throw new DataError('mix of .jsonl examples and plain text: train on one kind at a time');
  return pairs.length ? pairData(pairs, tok, o) : textData(files, tok, o);
}

/** Token ids of text files split into training and held-out parts: the last `heldOut` of each file is held out. */
export function splitText(files: { name: string; text: string }[], tok: Tokenizer, heldOut: number): { train: Int32Array; held: Int32Array } {
  const train: number[] = [];
  const held: number[] = [];
  for (const f of files) {
    const ids = tok.encode(f.text);
    if (tok.eosId !== null) ids.push(tok.eosId); // documents end with <|endoftext|>, as in GPT-2's training
    const cut = Math.floor(ids.length * (1 - heldOut));
    for (let i = 0; i < ids.length; i++) (i < cut ? train : held).push(ids[i]);
  }
  return { train: Int32Array.from(train), held: Int32Array.from(held) };
}

function textData(files: { name: string; text: string }[], tok: Tokenizer, o: { seqLen: number; batchSize: number; gradAccum: number; heldOut: number; seed: number }): SftData {
  const { train: trainIds, held: heldIds } = splitText(files, tok, o.heldOut);
  const T = o.seqLen;
  if (trainIds.length < T + 2) throw new DataError(`training text has ${trainIds.length} tokens, fewer than one window of ${T + 1}`);
  const window = (src: Int32Array, start: number) => Array.from(src.subarray(start, start + T + 1));
  return {
    kind: 'text',
    trainSize: trainIds.length,
    heldOutSize: heldIds.length,
    trainBatch(step, micro) {
      const rng = new Rng(mix(o.seed, step, micro));
      return { ids: Array.from({ length: o.batchSize }, () => window(trainIds, Math.floor(rng.next() * (trainIds.length - T)))) };
    },
    evalBatches(count) {
      if (heldIds.length < T + 1) return [];
      const n = count * o.batchSize;
      const stride = Math.max(1, Math.floor((heldIds.length - T - 1) / n)); // evenly spread windows
      const out: Batch[] = [];
      for (let b = 0; b < count; b++) {
        const ids = [];
        for (let j = 0; j < o.batchSize; j++) ids.push(window(heldIds, Math.min(((b * o.batchSize + j) * stride), heldIds.length - T - 1)));
        out.push({ ids });
      }
      return out;
    },
  };
}

interface Example {
  ids: number[];
  /** target[k] is 1 when ids[k] counts in the loss (a completion or assistant token). */
  target: Uint8Array;
}

function pairData(files: { name: string; text: string }[], tok: Tokenizer, o: { seqLen: number; batchSize: number; gradAccum: number; heldOut: number; seed: number }): SftData {
  const train: Example[] = [];
  const held: Example[] = [];
  const eos = tok.eosId;
  const maxLen = o.seqLen + 1;
  for (const f of files) {
    f.text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      const at = `${f.name}:${i + 1}`;
      let j: unknown;
      try {
        j = JSON.parse(line);
      } catch (e) {
        throw new DataError(`${at}: ${jsonError(e)}`);
      }
      const { prompt, completion, messages } = (j ?? {}) as Record<string, unknown>;
      if (messages !== undefined) {
        const { examples, key } = conversationExamples(messages, tok, maxLen, at);
        (hash01(key) < o.heldOut ? held : train).push(...examples); // one conversation, one side of the split
        return;
      }
      if (typeof prompt !== 'string' || typeof completion !== 'string') throw new DataError(`${at}: expected {"prompt": string, "completion": string} or {"messages": [...]}`);
      const p = tok.encode(prompt);
      let c = tok.encode(completion, { addSpecialTokens: false });
      if (eos !== null) c.push(eos);
      if (c.length + 1 > maxLen) c = c.slice(0, maxLen - 1); // keep at least one prompt token as context
      const keep = Math.max(1, maxLen - c.length);
      const pk = p.length ? p.slice(-keep) : eos !== null ? [eos] : [];
      if (!pk.length) throw new DataError(`${at}: empty prompt and no EOS token to start from`);
      const ids = [...pk, ...c];
      (hash01(prompt) < o.heldOut ? held : train).push({ ids, target: Uint8Array.from(ids, (_, k) => (k >= pk.length ? 1 : 0)) });
    });
  }
  if (!train.length) throw new DataError('no training pairs (all held out or files empty)');
  const perms = new Map<number, Uint32Array>();
  const perm = (epoch: number) => {
    let p = perms.get(epoch);
    if (!p) {
      const rng = new Rng(mix(o.seed, epoch, 0x5eed));
      p = Uint32Array.from({ length: train.length }, (_, i) => i);
      for (let i = p.length - 1; i > 0; i--) {
        const k = Math.floor(rng.next() * (i + 1));
        [p[i], p[k]] = [p[k], p[i]];
      }
      perms.clear(); // only the current epoch is ever needed again
      perms.set(epoch, p);
    }
    return p;
  };
  const pad = eos ?? 0;
  const batchOf = (examples: Example[]): Batch => {
    const L = Math.max(...examples.map((e) => e.ids.length));
    return {
      ids: examples.map((e) => [...e.ids, ...new Array(L - e.ids.length).fill(pad)]),
      attentionMask: examples.map((e) => [...new Array(e.ids.length).fill(1), ...new Array(L - e.ids.length).fill(0)]),
      // target t (predicting ids[t+1]) counts when ids[t+1] is a completion or assistant token
      lossMask: examples.map((e) => Array.from({ length: L - 1 }, (_, t) => (t + 1 < e.ids.length ? e.target[t + 1] : 0))),
    };
  };
  return {
    kind: 'pairs',
    trainSize: train.length,
    heldOutSize: held.length,
    trainBatch(step, micro) {
      const first = ((step - 1) * o.gradAccum + micro) * o.batchSize;
      return batchOf(Array.from({ length: o.batchSize }, (_, j) => {
        const g = first + j;
        return train[perm(Math.floor(g / train.length))[g % train.length]];
      }));
    },
    evalBatches(count) {
      const out: Batch[] = [];
      for (let b = 0; b < count && b * o.batchSize < held.length; b++) out.push(batchOf(held.slice(b * o.batchSize, (b + 1) * o.batchSize)));
      return out;
    },
  };
}

/**
 * A {"messages": [...]} line: the conversation's tokens (the first seqLen + 1), the assistant tokens as
 * targets. A template that renders earlier turns differently once later ones follow (Qwen3 drops their
 * <think>) gives one example per assistant turn instead: the conversation up to that turn, as the model
 * sees it when it writes that turn, with only that turn as target.
 */
function conversationExamples(messages: unknown, tok: Tokenizer, maxLen: number, at: string): { examples: Example[]; key: string } {
  if (!tok.chatTemplate) throw new DataError(`${at}: a conversation needs the model's chat template, and the tokenizer has no chat_template`);
  let msgs: ChatMessage[];
  try {
    msgs = checkMessages(messages);
  } catch (e) {
    throw new DataError(`${at}: ${(e as Error).message}`);
  }
  try {
    const r = tokenizeChat(tok, msgs);
    return { examples: [conversationExample(r, maxLen, at)], key: r.text };
  } catch (e) {
    if (!(e instanceof ChatTemplateError) || !/prefix by prefix/.test(e.message)) throw e instanceof DataError ? e : new DataError(`${at}: ${(e as Error).message}`);
  }
  const examples: Example[] = [];
  try {
    msgs.forEach((m, i) => {
      if (m.role === 'assistant' && i > 0) examples.push(conversationExample(tokenizeChat(tok, msgs.slice(0, i + 1), { lastTurnOnly: true }), maxLen, `${at} (messages[${i}])`));
    });
  } catch (e) {
    throw e instanceof DataError ? e : new DataError(`${at}: ${(e as Error).message}`);
  }
  if (!examples.length) throw new DataError(`${at}: the conversation has no assistant message to learn from`);
  return { examples, key: applyChatTemplate(tok, msgs, { addGenerationPrompt: false }) };
}

function conversationExample(r: ChatTokens, maxLen: number, at: string): Example {
  if (!r.spans.length) throw new DataError(`${at}: the conversation has no assistant message to learn from`);
  const ids = r.ids.slice(0, maxLen);
  const target = Uint8Array.from(r.mask.slice(0, maxLen));
  if (!target.some((v, k) => v && k > 0)) throw new DataError(`${at}: the first assistant turn starts after seqLen + 1 = ${maxLen} tokens; raise seqLen or shorten the conversation`);
  return { ids, target };
}

/** Read data paths: files from disk, corpus:NAME through the given resolver. */
export function readSources(paths: string[], corpus: (name: string) => string): { name: string; text: string }[] {
  return paths.map((p) => {
    if (p.startsWith('corpus:')) return { name: p, text: corpus(p.slice('corpus:'.length)) };
    try {
      return { name: p, text: readFileSync(p, 'utf8') };
    } catch (e) {
      throw new DataError(`${p}: ${(e as Error).message}`);
    }
  });
}

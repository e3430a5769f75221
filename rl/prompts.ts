// Prompts for PPO rollouts and their seeded order. A .txt file holds one prompt per line (blank lines
// skipped); a .jsonl file holds one object per line: {"prompt": "..."}, or a conversation in TRL's
// conversational format, {"messages": [{"role", "content"}, ...]} or {"prompt": [messages...]}, which is
// rendered with the model's chat template and its generation prompt. The line's other columns are kept
// with it (for reward functions). The order is a fresh seeded permutation per pass over the set, so the
// prompts of step s depend only on (seed, s): that is what makes resume exact.
import { existsSync, readFileSync } from 'node:fs';
import { applyChatTemplate, ChatMessage, checkMessages } from '../lm/chat-template.js';
import { permutation } from '../lm/rng.js';
import { jsonError } from '../lm/json-error.js';
import { Tokenizer } from '../lm/tokenizer.js';

export interface PromptRecord {
  /** The text to complete: the line itself, its "prompt" string, or its conversation rendered with the chat template. */
  prompt: string;
  /** The conversation, when the line had one. */
  messages?: ChatMessage[];
  /** The line's other columns (all but "prompt" / "messages"); {} for a .txt line. */
  columns: Record<string, unknown>;
}

/**
 * Read a prompt file. Conversations need `tok` with a chat template: without one the first such line
 * fails, naming the file and line.
 */
export function loadPromptRecords(file: string, tok?: Tokenizer | null): PromptRecord[] {
  if (!existsSync(file)) throw new Error(`prompts ${file}: not found`);
  const text = readFileSync(file, 'utf8');
  let out: PromptRecord[];
  if (file.endsWith('.jsonl')) {
    out = text.split('\n').flatMap((line, i) => {
      if (!line.trim()) return [];
      const at = `prompts ${file}:${i + 1}`;
      let j: unknown;
      try {
        j = JSON.parse(line);
      } catch (e) {
        throw new Error(`${at}: ${jsonError(e)}`);
      }
      if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new Error(`${at}: expected a JSON object`);
      const { prompt, messages, ...columns } = j as Record<string, unknown>;
      if (typeof prompt === 'string' && messages === undefined) return [{ prompt, columns }];
      const conv = messages ?? prompt;
      const field = messages !== undefined ? 'messages' : 'prompt';
      if (!Array.isArray(conv)) throw new Error(`${at}: "prompt" must be a string, or "messages" (or "prompt") a list of messages`);
      if (messages !== undefined && prompt !== undefined) columns.prompt = prompt;
      return [{ ...conversation(conv, field, tok, at), columns }];
    });
  } else out = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim()).map((prompt) => ({ prompt, columns: {} }));
  if (!out.length) throw new Error(`prompts ${file}: no prompts`);
  return out;
}

function conversation(conv: unknown[], field: string, tok: Tokenizer | null | undefined, at: string): { prompt: string; messages: ChatMessage[] } {
  let messages: ChatMessage[];
  try {
    messages = checkMessages(conv, field);
  } catch (e) {
    throw new Error(`${at}: ${(e as Error).message}`);
  }
  if (messages.at(-1)!.role === 'assistant') throw new Error(`${at}: the last message is the assistant's; a prompt ends with the turn the model answers`);
  if (!tok?.chatTemplate) throw new Error(`${at}: a conversation needs the model's chat template, and ${tok ? "the model's tokenizer has no chat_template" : 'no tokenizer was given'}`);
  try {
    return { prompt: applyChatTemplate(tok, messages, { addGenerationPrompt: true }), messages };
  } catch (e) {
    throw new Error(`${at}: ${(e as Error).message}`);
  }
}

/** The prompt texts of a file (see loadPromptRecords). */
export function loadPrompts(file: string, tok?: Tokenizer | null): string[] {
  return loadPromptRecords(file, tok).map((r) => r.prompt);
}

/** Indices of the prompts at stream positions [start, start + count). */
export function promptIndices(n: number, seed: number, start: number, count: number): number[] {
  const out: number[] = [];
  let pass = -1;
  let perm: number[] = [];
  for (let i = start; i < start + count; i++) {
    const e = Math.floor(i / n);
    if (e !== pass) {
      pass = e;
      perm = permutation(n, seed * 7919 + e + 1);
    }
    out.push(perm[i % n]);
  }
  return out;
}

/** A seed for (run seed, step, purpose) so each draw is independent and reproducible. */
export function subSeed(seed: number, step: number, purpose: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b) ^ Math.imul(purpose + 1, 0xc2b2ae35)) >>> 0;
}

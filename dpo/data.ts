// DPO's preference data: comparisons (a prompt, K completions, a ranking) from the label store or JSONL
// files, tokenized and truncated, split by prompt hash, with a snapshot in the run folder so a resume trains
// on exactly the same comparisons.
//   store: the full export's cursor on a read-only connection (WAL: labelers keep writing meanwhile), one
//     label at a time; the snapshot lists the label ids used, and a resume reads only those.
//   files: our full export and {"prompt","chosen","rejected"} lines through reward-models/comparisons.ts;
//     HH-RLHF {"chosen","rejected"} strings with the shared prompt split off (the text up to the last
//     "\n\nAssistant:" both share, else their common prefix as TRL's extract_prompt cuts it); TRL's
//     conversational {"prompt": [...], "chosen": [...], "rejected": [...]} (or without "prompt": the shared
//     leading messages) rendered with the model's chat template. The snapshot holds each file's SHA-256.
// Tokens, as TRL: the prompt encoded alone; each completion encoded alone, with EOS appended to plain text
// (a conversation's completion already ends in the template's end-of-turn). The prompt keeps its last
// maxPromptLength tokens (keep_end; keep_start keeps the first); completions are cut to fit maxLength (and
// the model's context); a comparison whose prompt leaves no room is dropped, as TRL drops it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportLines, openReader } from '../data/export.js';
import { applyChatTemplate, ChatMessage, checkMessages } from '../lm/chat-template.js';
import { writeFileAtomic } from '../lm/checkpoint.js';
import { jsonError } from '../lm/json-error.js';
import type { Tokenizer } from '../lm/tokenizer.js';
import { Comparison, parseComparison, splitByPrompt } from '../reward-models/comparisons.js';
import type { DpoConfig } from './config.js';

/** One comparison ready to train on. */
export interface DpoExample extends Comparison {
  /** Where it came from: 'label 17' (store) or 'file.jsonl:3'. */
  where: string;
  promptIds: number[];
  /** Each completion's ids after truncation (EOS included where one is added). */
  completionIds: number[][];
  /** Each completion's reference log-probability (dpo/reference.ts fills it in before training). */
  refLogps?: number[];
}

/** A comparison as read, before tokens: `chat` when prompt and completions are rendered template text. */
interface RawComparison extends Comparison {
  where: string;
  labelId?: number;
  chat: boolean;
}

export type DataSnapshot =
  | { source: 'db'; db: string; labelIds: number[] }
  | { source: 'files'; files: { path: string; sha256: string }[] };

export interface DpoData {
  train: DpoExample[];
  val: DpoExample[];
  /** Labels read and left out: ties (ties: drop) and comparisons whose prompt fills maxLength. */
  dropped: { ties: number; tooLong: number };
  /** Tie labels kept (every ties option but drop), in train and val together. */
  ties: number;
}

export const SNAPSHOT_FILE = 'data-snapshot.json';

export class DpoDataError extends Error {}

/**
 * The run's comparisons. A fresh run records the snapshot in `out`; a resume reads it and trains on the same
 * labels (store) or refuses changed files.
 */
export async function loadDpoData(c: DpoConfig, tok: Tokenizer, nPositions: number, resume: boolean): Promise<DpoData> {
  const snapFile = join(c.out, SNAPSHOT_FILE);
  const snap = resume && existsSync(snapFile) ? (JSON.parse(readFileSync(snapFile, 'utf8')) as DataSnapshot) : null;
  const raws: Iterable<RawComparison> = c.db ? storeComparisons(c.db, snap?.source === 'db' ? new Set(snap.labelIds) : null) : fileComparisons(c.data, tok, snap);
  const dropped = { ties: 0, tooLong: 0 };
  let ties = 0;
  const all: DpoExample[] = [];
  const used: number[] = [];
  for (const r of raws) {
    if (!r.ranking && c.ties === 'drop') {
      dropped.ties++;
      continue;
    }
    const e = tokenize(r, tok, c, nPositions);
    if (!e) dropped.tooLong++;
    else {
      if (!e.ranking) ties++;
      all.push(e);
      if (r.labelId !== undefined) used.push(r.labelId);
    }
  }
  if (snap?.source === 'db' && used.length !== snap.labelIds.length) {
    throw new DpoDataError(`${c.db}: the run's snapshot (${snapFile}) lists ${snap.labelIds.length} labels, ${used.length} of them are still in the store; resume needs them all`);
  }
  if (!snap) {
    const s: DataSnapshot = c.db ? { source: 'db', db: c.db, labelIds: used } : { source: 'files', files: c.data.map((f) => ({ path: f, sha256: sha256File(f) })) };
    mkdirSync(c.out, { recursive: true });
    writeFileAtomic(snapFile, JSON.stringify(s) + '\n');
  }
  const { train, val } = splitByPrompt(all, c.valFraction, c.seed) as { train: DpoExample[]; val: DpoExample[] };
  if (!train.length) throw new DpoDataError(`no training comparisons (${all.length} usable in total, ${val.length} went to validation; ${dropped.ties} ties and ${dropped.tooLong} too long were left out)`);
  return { train, val, dropped, ties };
}

/** The store's labels as comparisons, streamed from a read-only connection; only `only`'s label ids when given. */
export function* storeComparisons(file: string, only: Set<number> | null): Generator<RawComparison> {
  if (!existsSync(file)) throw new DpoDataError(`${file}: not found`);
  const db = openReader(file);
  try {
    for (const line of exportLines(db, 'full')) {
      const id = (JSON.parse(line) as { label_id: number }).label_id;
      if (only && !only.has(id)) continue;
      const cmp = parseComparison(line, `${file}: label ${id}`);
      if (cmp) yield { ...cmp, where: `label ${id}`, labelId: id, chat: false };
    }
  } finally {
    db.close();
  }
}

/** Comparisons of JSONL files in any of the four formats; with a snapshot, each file must be unchanged. */
export function* fileComparisons(files: string[], tok: Tokenizer, snap: DataSnapshot | null): Generator<RawComparison> {
  for (const f of files) {
    if (!existsSync(f)) throw new DpoDataError(`${f}: not found`);
    if (snap?.source === 'files') {
      const was = snap.files.find((x) => x.path === f);
      if (!was || was.sha256 !== sha256File(f)) throw new DpoDataError(`${f}: changed since the run started (its SHA-256 is in the run's ${SNAPSHOT_FILE}); resume needs the same data`);
    }
    const lines = readFileSync(f, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].trim()) continue;
      const r = parseLine(lines[i], `${f}:${i + 1}`, tok);
      if (r) yield r;
    }
  }
}

/** One JSONL line of any supported format; null for a skip label. */
export function parseLine(text: string, where: string, tok: Tokenizer): RawComparison | null {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new DpoDataError(`${where}: ${jsonError(e)}`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new DpoDataError(`${where}: expected a JSON object`);
  if (Array.isArray(j.chosen) || Array.isArray(j.rejected) || Array.isArray(j.prompt)) return conversation(j, where, tok);
  if (j.prompt === undefined && typeof j.chosen === 'string' && typeof j.rejected === 'string') {
    const { prompt, chosen, rejected } = splitSharedPrompt(j.chosen, j.rejected);
    return { prompt, completions: [chosen, rejected], ranking: [0, 1], where, chat: false };
  }
  try {
    const cmp = parseComparison(text, where);
    return cmp && { ...cmp, where, chat: false };
  } catch (e) {
    throw new DpoDataError((e as Error).message);
  }
}

const HH_TURN = '\n\nAssistant:';

/** HH-RLHF's implicit prompt: the shared text up to the last "\n\nAssistant:" in it, else TRL's common prefix. */
export function splitSharedPrompt(chosen: string, rejected: string): { prompt: string; chosen: string; rejected: string } {
  let n = 0;
  while (n < chosen.length && n < rejected.length && chosen[n] === rejected[n]) n++;
  const turn = chosen.slice(0, n).lastIndexOf(HH_TURN);
  let cut = turn >= 0 ? turn + HH_TURN.length : n;
  if (turn < 0 && cut > 0 && cut < Math.min(chosen.length, rejected.length) && chosen[cut - 1] === ' ') cut--; // the space starts the completion (TRL)
  return { prompt: chosen.slice(0, cut), chosen: chosen.slice(cut), rejected: rejected.slice(cut) };
}

/** TRL's conversational preference line, rendered with the tokenizer's chat template. */
function conversation(j: Record<string, unknown>, where: string, tok: Tokenizer): RawComparison {
  if (!tok.chatTemplate) throw new DpoDataError(`${where}: a conversation needs the model's chat template, and the tokenizer has no chat_template`);
  let prompt: ChatMessage[];
  let chosen: ChatMessage[];
  let rejected: ChatMessage[];
  try {
    chosen = checkMessages(j.chosen, 'chosen');
    rejected = checkMessages(j.rejected, 'rejected');
    if (j.prompt !== undefined) prompt = checkMessages(j.prompt, 'prompt');
    else { // implicit prompt: the leading messages both share (TRL's extract_prompt)
      let n = 0;
      while (n < chosen.length - 1 && n < rejected.length - 1 && JSON.stringify(chosen[n]) === JSON.stringify(rejected[n])) n++;
      if (!n) throw new Error('chosen and rejected share no leading messages to take as the prompt; give "prompt"');
      [prompt, chosen, rejected] = [chosen.slice(0, n), chosen.slice(n), rejected.slice(n)];
    }
    const before = applyChatTemplate(tok, prompt, { addGenerationPrompt: true });
    const completion = (turns: ChatMessage[], field: string) => {
      const upTo = applyChatTemplate(tok, [...prompt, ...turns]);
      if (!upTo.startsWith(before)) throw new Error(`the chat template renders prompt + ${field} with a different beginning than the prompt with its generation prompt`);
      return upTo.slice(before.length, Math.max(before.length, upTo.trimEnd().length)); // the end-of-turn, not the whitespace after it
    };
    return { prompt: before, completions: [completion(chosen, 'chosen'), completion(rejected, 'rejected')], ranking: [0, 1], where, chat: true };
  } catch (e) {
    throw new DpoDataError(`${where}: ${(e as Error).message}`);
  }
}

/** Token ids with TRL's truncation; null when the prompt leaves no room for a completion token. */
export function tokenize(r: RawComparison, tok: Tokenizer, c: Pick<DpoConfig, 'maxLength' | 'maxPromptLength' | 'truncationMode'>, nPositions: number): DpoExample | null {
  let p = tok.encode(r.prompt);
  if (!p.length) p = [tok.bosId ?? tok.eosId ?? 0]; // an empty prompt starts from BOS, as generation does
  const m = c.maxPromptLength;
  if (m !== null && p.length > m) p = c.truncationMode === 'keep_end' ? p.slice(-m) : p.slice(0, m);
  const limit = Math.min(c.maxLength ?? Infinity, nPositions);
  if (p.length >= limit) return null;
  const completionIds = r.completions.map((t) => {
    const ids = tok.encode(t, { addSpecialTokens: false });
    if (!r.chat && tok.eosId !== null) ids.push(tok.eosId);
    return ids.slice(0, limit - p.length);
  });
  return { prompt: r.prompt, completions: r.completions, ranking: r.ranking, margin: r.margin, where: r.where, promptIds: p, completionIds };
}

export function sha256File(f: string): string {
  return createHash('sha256').update(readFileSync(f)).digest('hex');
}

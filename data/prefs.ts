// Preference rows in the JSONL format of Anthropic HH-RLHF and TRL: {"prompt","chosen","rejected"}.
import { jsonError } from '../lm/json-error.js';

export interface Preference {
  prompt: string;
  chosen: string;
  rejected: string;
}

/** Parse one JSONL line; errors name the file and line. */
export function parsePreference(text: string, file: string, line: number): Preference {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}:${line}: ${jsonError(e)}`);
  }
  if (typeof r?.prompt !== 'string' || typeof r.chosen !== 'string' || typeof r.rejected !== 'string') {
    throw new Error(`${file}:${line}: expected {"prompt","chosen","rejected"} strings`);
  }
  if (r.chosen === r.rejected) throw new Error(`${file}:${line}: chosen and rejected are the same text`);
  return { prompt: r.prompt, chosen: r.chosen, rejected: r.rejected };
}

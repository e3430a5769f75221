// A task's conversation: the messages its prompt text was rendered from (TRL's conversational format), kept
// beside the text so the labeling page shows turns. The store accepts only what the page can show as a
// turn: the roles system, user and assistant, string contents, within the bounds of the other task fields.
import type { Turn, TurnRole } from '../protocol/wire.js';

export const TURN_ROLES: readonly TurnRole[] = ['system', 'user', 'assistant'];
/** At most this many turns a task. */
export const MAX_TURNS = 64;
/** At most this many characters a turn (a task's prompt has the same bound on POST /api/tasks). */
export const MAX_TURN_CHARS = 20_000;

/** The first problem with x as a task's messages, as "field: what is wrong", or null when it is fine. */
export function turnsProblem(x: unknown, field = 'messages'): string | null {
  if (!Array.isArray(x)) return `${field}: expected a list of {"role", "content"} turns`;
  if (!x.length) return `${field}: needs at least 1 turn`;
  if (x.length > MAX_TURNS) return `${field}: at most ${MAX_TURNS} turns`;
  for (let i = 0; i < x.length; i++) {
    const m = x[i] as unknown;
    const at = `${field}[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return `${at}: expected an object {"role", "content"}`;
    const extra = Object.keys(m).find((k) => k !== 'role' && k !== 'content');
    if (extra !== undefined) return `${at}.${extra}: unknown field`;
    const { role, content } = m as Record<string, unknown>;
    if (!TURN_ROLES.includes(role as TurnRole)) return `${at}.role: must be one of ${TURN_ROLES.join(', ')}`;
    if (typeof content !== 'string') return `${at}.content: expected a string`;
    if (content.length > MAX_TURN_CHARS) return `${at}.content: longer than ${MAX_TURN_CHARS} characters`;
  }
  return null;
}

/**
 * A prompt's conversation as a task's turns (role and content only), or undefined when there is none or the
 * store would refuse it (another role such as "tool", a null content, too many or too long turns): such a
 * task is shown with its prompt text, as a plain prompt is.
 */
export function taskTurns(messages: readonly { role: string; content?: unknown }[] | null | undefined): Turn[] | undefined {
  if (!messages) return undefined;
  const turns = messages.map((m) => ({ role: m.role, content: m.content }));
  return turnsProblem(turns) === null ? (turns as Turn[]) : undefined;
}

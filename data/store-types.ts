// The store's vocabulary, shared by the store, the server and its writer thread (store.ts re-exports it).
import type { LabelRequest, Role, TaskView, Turn } from '../protocol/wire.js';

export type { Role };
export const ROLES: readonly Role[] = ['labeler', 'researcher', 'admin'];

export interface User {
  id: number;
  name: string;
  role: Role;
}

export class StoreError extends Error {
  constructor(readonly code: 'invalid' | 'not_found' | 'conflict' | 'forbidden', message: string) {
    super(message);
  }
}

export interface NewTask {
  prompt: string;
  completions: { text: string; tokens?: number; model?: string; runId?: string; step?: number }[];
  /** The conversation `prompt` was rendered from (data/task-messages.ts); the page shows it as turns. */
  messages?: Turn[] | null;
  /** Known best-first ranking of the completions as given (gold question). */
  gold?: number[];
  source?: string;
}

// A task as shown and a label as submitted are the wire types of protocol/wire.ts (type-only import).
export type { TaskView } from '../protocol/wire.js';
/** A label to store: ranking lists display positions best first (a permutation of 0..k-1). */
export type LabelInput = LabelRequest;

export interface LabelResult {
  id: number;
  /** false when this client id was already stored: the resubmit changed nothing. */
  created: boolean;
  /** An edit's label version after it (label-edits.ts). */
  version?: number;
}

/**
 * One item of a group commit: a label, or the labeler's next assignment (`next`), or both (submit-and-next:
 * the label, then the next task, in the same transaction).
 */
export interface LabelItem {
  user: number;
  label?: LabelInput;
  next?: boolean;
  /** Keep this many tasks assigned to the user (topping up), and return them all as `held` (next: the oldest). */
  hold?: number;
}
/** ok is null for an item without a label; next (and held) are there when asked for (null, []: nothing left). */
export type LabelOutcome = { ok: LabelResult | null; next?: TaskView | null; held?: TaskView[] } | { error: StoreError };

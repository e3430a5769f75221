// The labeling page's outbox: labels wait in localStorage until the server has acknowledged them, in the
// order they were made (an edit goes after the label it replaces), each with the token of the user who
// made it and, while it fits, the task it answers (so it can be undone while offline). A label leaves
// only when the server acknowledged or refused it.
import type { LabelRequest, TaskView } from '../protocol/wire.js';
import { TOKEN_KEY } from './dom.js';

const OUTBOX = 'rlhf.outbox';

export interface Queued {
  token: string;
  label: LabelRequest;
  /** The task as it was shown: for the recent list and undo while the label waits. */
  task?: TaskView;
}

export const signedIn = (): string => localStorage.getItem(TOKEN_KEY) ?? '';

// Entries written before labels carried a token are bare LabelRequests: tagged with the token signed in
// when the page loads (tagOld), before any switch.
export const outbox = (): Queued[] => (JSON.parse(localStorage.getItem(OUTBOX) ?? '[]') as (Queued | LabelRequest)[])
  .map((q) => ('label' in q ? q : { token: signedIn(), label: q }));

export function saveOutbox(box: Queued[]): void {
  try {
    localStorage.setItem(OUTBOX, JSON.stringify(box));
  } catch {
    // over the storage quota (long tasks): the labels matter, the copies of their tasks do not
    localStorage.setItem(OUTBOX, JSON.stringify(box.map(({ token, label }) => ({ token, label }))));
  }
}

export const enqueue = (q: Queued): void => saveOutbox([...outbox(), q]);

/** Take out the label with this clientId (acknowledged or refused). */
export const drop = (clientId: string): void => saveOutbox(outbox().filter((q) => q.label.clientId !== clientId));

/** The signed-in user's labels still waiting. */
export const mine = (): Queued[] => outbox().filter((q) => q.token === signedIn());

// The task on the labeling page, as DOM built from state (label.ts owns the state and calls this on every
// change). Model text (prompt, turns, completions) goes through markdown.ts: DOM nodes, never HTML. Every
// control is a real button with a name; the choices carry aria-pressed. Cards can be clicked or tapped:
// for two completions a card is "this one is better", for more it is the next place in the ranking.
import type { TaskView, Turn } from '../protocol/wire.js';
import { h } from './dom.js';
import { rankingList } from './label-rank.js';
import { markdown } from './markdown.js';

export type Choice = 'ranking' | 'tie' | 'skip' | null;

export interface TaskState {
  task: TaskView;
  choice: Choice;
  ranking: number[];
  rationale: string;
  /** Re-labelling one's own label: the version being replaced. */
  editing: { version: number } | null;
  /** There is a label of one's own to undo. */
  canUndo: boolean;
}

export interface TaskActions {
  press(key: string): void;
  /** A card was clicked or tapped (its position). */
  pick(position: number): void;
  reorder(order: number[]): void;
  submit(): void;
  cancelEdit(): void;
  rationale(text: string): void;
}

export const complete = (s: Pick<TaskState, 'task' | 'choice' | 'ranking'>): boolean =>
  s.choice === 'tie' || s.choice === 'skip' || (s.choice === 'ranking' && s.ranking.length === s.task.completions.length);

export function taskView(s: TaskState, act: TaskActions): HTMLElement {
  const { task } = s;
  const k = task.completions.length;
  const tag = (p: number) => (k === 2 ? 'AB'[p] : String(p + 1));
  const cards = task.completions.map((c) => {
    const rank = s.choice === 'ranking' ? s.ranking.indexOf(c.position) : -1;
    const head = k === 2
      ? h('span', { class: 'tag' }, tag(c.position))
      // the card's click handler ranks it; this button is the same action for keyboards and screen readers
      : h('button', {
        type: 'button', class: 'tag rank', id: `rank-${c.position}`, 'aria-pressed': String(rank >= 0),
        'aria-label': rank >= 0 ? `Completion ${c.position + 1}, ranked ${rank + 1} of ${k}: take it out` : `Rank completion ${c.position + 1} next`,
      }, `${tag(c.position)}${rank >= 0 ? ` · rank ${rank + 1}` : ''}`);
    return h('div', {
      class: `completion${rank === 0 ? ' chosen' : ''}${rank >= 0 ? ' ranked' : ''}`, 'data-position': String(c.position),
      onclick: () => {
        if (String(getSelection() ?? '')) return; // selecting text to read or copy is not a choice
        act.pick(c.position);
      },
    }, head, h('div', { class: 'text' }, ...markdown(c.text)));
  });
  const btn = (label: string, key: string, on: boolean, id: string) => h('button', { type: 'button', id, class: on ? 'on' : '', 'aria-pressed': String(on), onclick: () => act.press(key) }, label, ' ', h('kbd', {}, key.toUpperCase()));
  const picks = k === 2 ? [btn('A is better', 'a', s.choice === 'ranking' && s.ranking[0] === 0, 'choice-a'), btn('B is better', 'b', s.choice === 'ranking' && s.ranking[0] === 1, 'choice-b')] : [];
  const ready = complete(s);
  const turns = task.messages?.length ? task.messages : null;
  const replies = turns
    ? [h('p', { class: 'replies', id: 'replies' }, 'assistant: candidate replies'), h('div', { class: 'completions', role: 'group', 'aria-labelledby': 'replies' }, ...cards)]
    : [h('div', { class: 'completions', role: 'group', 'aria-label': `${k} completions` }, ...cards)];
  return h('section', { id: 'task', tabindex: '-1', 'aria-label': `Task ${task.id}${s.editing ? ', editing your label' : ''}` },
    s.editing ? h('p', { class: 'editing', id: 'editing' }, `Editing your label on task ${task.id} (version ${s.editing.version}). Submitting stores a new version; the old one is kept. `,
      h('button', { type: 'button', id: 'cancel-edit', onclick: () => act.cancelEdit() }, 'Cancel edit')) : null,
    turns ? conversation(turns) : h('div', { class: 'prompt', id: 'prompt' }, ...markdown(task.prompt)), ...replies,
    k > 2 ? rankingList(task, s.choice === 'ranking' ? s.ranking : [], act) : null,
    h('div', { class: 'actions', role: 'group', 'aria-label': 'Your answer' }, ...picks, btn('Tie', 't', s.choice === 'tie', 'choice-tie'), btn('Skip', 's', s.choice === 'skip', 'choice-skip'),
      h('button', { type: 'button', id: 'submit', class: 'submit', 'aria-disabled': String(!ready), onclick: () => act.submit() }, s.editing ? 'Submit edit ' : 'Submit ', h('kbd', {}, 'Enter')),
      s.canUndo && !s.editing ? h('button', { type: 'button', id: 'undo', onclick: () => act.press('u') }, 'Undo last label ', h('kbd', {}, 'U')) : null),
    h('p', { class: 'why' }, h('label', { for: 'rationale' }, 'Why? (optional)'),
      rationaleBox(s.rationale, act)));
}

function rationaleBox(text: string, act: TaskActions): HTMLElement {
  const el = h('textarea', { id: 'rationale', oninput: (e: Event) => act.rationale((e.target as HTMLTextAreaElement).value) }) as HTMLTextAreaElement;
  el.value = text;
  return el;
}

/** The turns in order, as a list: each its own block with its role shown (and as its accessible name), text as text. */
function conversation(turns: Turn[]): HTMLElement {
  return h('ol', { class: 'conversation', id: 'prompt', 'aria-label': `conversation, ${turns.length} ${turns.length === 1 ? 'turn' : 'turns'}` },
    ...turns.map((m) => h('li', { class: 'turn', 'data-role': m.role, 'aria-label': m.role }, h('span', { class: 'role' }, m.role), ...markdown(m.content))));
}

// The ranking of K completions as a list, best first, for K > 2: built by clicking or tapping the
// completions in order (or keys 1..9), reordered by dragging an item (mouse, pen or touch: pointer events,
// with touch-action off on the items so a finger drags instead of scrolling) or with each item's move
// buttons, which are also the keyboard's way. Any K the API allows (up to 16) works the same.
import type { TaskView } from '../protocol/wire.js';
import { h } from './dom.js';

export interface RankActions {
  /** The new order, best first (positions). */
  reorder(order: number[]): void;
}

export const ordinal = (n: number): string => `${n}${n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;

// a line to recognise the completion by while dragging: its text without Markdown's marks
const preview = (text: string) => {
  const plain = text.replace(/^ {0,3}(`{3,}|~{3,}).*$/gm, '').replace(/`+|\*\*/g, '').replace(/\s+/g, ' ').trim();
  return plain.length > 80 ? `${plain.slice(0, 80).trimEnd()}…` : plain;
};

/** The ranking so far as an ordered list, with drag and move buttons. */
export function rankingList(task: TaskView, ranking: number[], act: RankActions): HTMLElement {
  const k = task.completions.length;
  const text = new Map(task.completions.map((c) => [c.position, c.text]));
  const move = (i: number, j: number) => {
    const order = [...ranking];
    [order[i], order[j]] = [order[j], order[i]];
    act.reorder(order);
  };
  const items = ranking.map((p, i) => h('li', { class: 'ranked-item', 'data-position': String(p) },
    h('span', { class: 'grip', 'aria-hidden': 'true' }, '⠿'),
    h('span', { class: 'which' }, `${i + 1}. Completion ${p + 1}`),
    h('span', { class: 'preview' }, preview(text.get(p) ?? '')),
    h('span', { class: 'moves' },
      h('button', { type: 'button', id: `up-${p}`, 'aria-label': `Move completion ${p + 1} up`, disabled: i === 0, onclick: () => move(i, i - 1) }, '↑'),
      h('button', { type: 'button', id: `down-${p}`, 'aria-label': `Move completion ${p + 1} down`, disabled: i === ranking.length - 1, onclick: () => move(i, i + 1) }, '↓'),
      h('button', { type: 'button', id: `out-${p}`, 'aria-label': `Take completion ${p + 1} out of the ranking`, onclick: () => act.reorder(ranking.filter((x) => x !== p)) }, '×'))));
  const list = h('ol', { id: 'ranking', class: 'ranking', 'aria-labelledby': 'ranking-title' }, ...items) as HTMLOListElement;
  dragToReorder(list, act);
  const left = k - ranking.length;
  return h('div', { class: 'ranking-box' },
    h('p', { id: 'ranking-title', class: 'ranking-title' }, `Your ranking, best first (${ranking.length} of ${k}${left ? `; ${left} to go` : ': complete'})`),
    h('p', { class: 'hint', id: 'ranking-help' }, ranking.length ? 'Drag an item (or use its arrows) to reorder; click a ranked completion again to take it out.' : `Click or tap the completions from best to worst${k <= 9 ? `, or press 1–${k}` : ''}.`),
    ranking.length ? list : h('p', { class: 'hint' }, 'Nothing ranked yet.'));
}

/**
 * Drag an item of `list` to a new place: the item follows the pointer; the order is given on release.
 * The move and release are heard on the window: moving the item in the DOM ends its pointer capture.
 */
function dragToReorder(list: HTMLOListElement, act: RankActions): void {
  list.addEventListener('pointerdown', (e: PointerEvent) => {
    const li = (e.target as HTMLElement).closest('li');
    if (!li || (e.target as HTMLElement).closest('button') || e.button !== 0) return;
    e.preventDefault();
    li.classList.add('dragging');
    const start = [...list.children].indexOf(li);
    const onMove = (ev: PointerEvent) => {
      if (ev.pointerId !== e.pointerId) return;
      const others = [...list.children].filter((x) => x !== li);
      const before = others.find((x) => {
        const r = x.getBoundingClientRect();
        return ev.clientY < r.top + r.height / 2;
      });
      if (before) {
        if (li.nextElementSibling !== before) list.insertBefore(li, before);
      } else if (list.lastElementChild !== li) list.append(li);
    };
    const onEnd = (ev: PointerEvent) => {
      if (ev.pointerId !== e.pointerId) return;
      removeEventListener('pointermove', onMove);
      removeEventListener('pointerup', onEnd);
      removeEventListener('pointercancel', onEnd);
      li.classList.remove('dragging');
      const order = [...list.children].map((x) => Number((x as HTMLElement).dataset.position));
      if ([...list.children].indexOf(li) !== start) act.reorder(order);
    };
    addEventListener('pointermove', onMove);
    addEventListener('pointerup', onEnd);
    addEventListener('pointercancel', onEnd);
  });
}

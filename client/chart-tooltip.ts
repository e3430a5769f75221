// The charts' tooltip, as HTML beside the canvas rather than painted on it: so it can be read (by a
// screen reader, a test, a copy-paste) and never clipped by a small chart. For the point under the
// pointer it names the step and its time (wall clock and since the run's start), then for each run on
// the chart its smoothed value and the raw value behind it. Text only (textContent).
import { h } from './dom.js';

export interface TipLine {
  color: string;
  run: string;
  /** What the line shows at this point: the smoothed value, or the raw one when smoothing is off. */
  value: number;
  /** The raw value there; null when smoothing is off (value is the raw one). */
  raw: number | null;
  step: number;
  /** Unix ms of the point, and of the run's first point of this metric. */
  time: number;
  start: number;
}

/** A number in at most 4 significant digits (6 for a raw value beside a smoothed one, which may differ only there). */
export const fmt = (v: number, digits = 4): string => (v === 0 ? '0' : Math.abs(v) >= 1e6 || Math.abs(v) < 1e-4 ? v.toExponential(digits - 1) : String(Number(v.toPrecision(digits))));

const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour12: false });
export const since = (s: number): string => {
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}` : `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
};

/** The tooltip's lines as text: a title (the first line's step and time), then a line per run. */
export function tipText(lines: TipLine[]): { title: string; rows: string[] } {
  const top = lines[0];
  const title = `step ${top.step} · ${clock(top.time)} (+${since((top.time - top.start) / 1000)})`;
  const rows = lines.map((l) => {
    const at = l.step === top.step ? '' : ` at step ${l.step}`;
    return l.raw === null ? `${l.run}: ${fmt(l.value)}${at}` : `${l.run}: ${fmt(l.value)} smoothed · ${fmt(l.raw, 6)} raw${at}`;
  });
  return { title, rows };
}

/** Show (or with null, hide) the tooltip inside `box` (the chart's positioned container), near (x, y). */
export function showTip(box: HTMLElement, lines: TipLine[] | null, x: number, y: number): void {
  let tip = box.querySelector<HTMLElement>('.chart-tip');
  if (!lines?.length) {
    if (tip) tip.hidden = true;
    return;
  }
  if (!tip) {
    tip = h('div', { class: 'chart-tip', role: 'tooltip' });
    box.append(tip);
  }
  const { title, rows } = tipText(lines);
  tip.replaceChildren(h('div', { class: 'tip-title' }, title), ...rows.map((r, i) => {
    const sw = h('span', { class: 'swatch' });
    sw.style.background = lines[i].color; // CSSOM: the pages' CSP allows no inline style attribute
    return h('div', { class: 'tip-row' }, sw, r);
  }));
  tip.hidden = false;
  // keep it inside the box: left of the pointer when the pointer is in the right half
  const left = x > box.clientWidth / 2 ? Math.max(0, x - tip.offsetWidth - 12) : x + 12;
  Object.assign(tip.style, { left: `${left}px`, top: `${Math.max(0, Math.min(y, box.clientHeight - tip.offsetHeight))}px` });
}

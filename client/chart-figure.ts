// One metric's figure on the dashboard: its caption (name, pin, log scale, reset zoom), the chart.js line
// chart in its box, drag to zoom, the HTML tooltip and a click on a point. What the buttons do is the
// grid's (dashboard-charts.ts); this file only builds the figure and reports what the user did.
import { ActiveElement, Chart, TooltipModel } from 'chart.js';
import type { Pt } from './chart-data.js';
import { dragZoom, zoomSelectionPlugin } from './chart-zoom.js';
import { switchMarkerPlugin } from './dashboard-markers.js';
import { h } from './dom.js';

export interface FigureHooks {
  togglePin(name: string): void;
  toggleLog(name: string): void;
  zoom(name: string, range: [number, number] | null): void;
  /** A click on a point (not the end of a drag): the nearest points under the pointer. */
  click(name: string, chart: Chart<'line', Pt[]>, elements: ActiveElement[]): void;
  tooltip(name: string, chart: Chart<'line', Pt[]>, tooltip: TooltipModel<'line'>, box: HTMLElement): void;
}

export interface Figure {
  fig: HTMLElement;
  box: HTMLElement;
  chart: Chart<'line', Pt[]>;
  /** Show the caption's buttons as pressed or not. */
  show(state: { pinned: boolean; log: boolean; zoomed: boolean }): void;
}

export function makeFigure(name: string, hooks: FigureHooks): Figure {
  const pin = h('button', { class: 'pin', type: 'button', 'aria-pressed': 'false', 'aria-label': `pin ${name} to the top`, title: 'pin to the top', onclick: () => hooks.togglePin(name) }, 'pin');
  const log = h('button', { class: 'log', type: 'button', 'aria-pressed': 'false', 'aria-label': `log scale for ${name}`, title: 'log scale (this chart)', onclick: () => hooks.toggleLog(name) }, 'log');
  const reset = h('button', { class: 'reset-zoom', type: 'button', hidden: true, 'aria-label': `reset the zoom of ${name}`, onclick: () => hooks.zoom(name, null) }, 'reset zoom');
  const canvas = h('canvas', { role: 'img', 'aria-label': `chart of ${name}; drag across it to zoom, double-click to reset` }) as HTMLCanvasElement;
  const box = h('div', { class: 'chart-box' }, canvas);
  const fig = h('figure', { class: 'chart', 'data-metric': name }, h('figcaption', {}, h('span', { class: 'metric-name' }, name), h('span', { class: 'chart-tools' }, reset, log, pin)), box);
  let wasDrag = () => false;
  const chart: Chart<'line', Pt[]> = new Chart<'line', Pt[]>(canvas, {
    type: 'line',
    data: { datasets: [] },
    plugins: [switchMarkerPlugin, zoomSelectionPlugin],
    options: {
      animation: false, parsing: false, normalized: true, responsive: true, maintainAspectRatio: false, spanGaps: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      onClick: (_e, elements) => {
        if (!wasDrag()) hooks.click(name, chart, elements);
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          enabled: false, // drawn as HTML by the grid (chart-tooltip.ts)
          filter: (i) => !String(i.dataset.label).endsWith('(raw)'),
          external: ({ tooltip }) => hooks.tooltip(name, chart, tooltip, box),
        },
      },
      scales: { x: { type: 'linear' }, y: { type: 'linear' } },
    },
  });
  wasDrag = dragZoom(chart as unknown as Chart, (range) => hooks.zoom(name, range));
  box.addEventListener('pointerleave', () => box.querySelector<HTMLElement>('.chart-tip')?.setAttribute('hidden', ''));
  return {
    fig, box, chart,
    show: (s) => {
      pin.setAttribute('aria-pressed', String(s.pinned));
      log.setAttribute('aria-pressed', String(s.log));
      reset.hidden = !s.zoomed;
    },
  };
}

// Drag to zoom on a chart's x-axis: press inside the plot, drag across, let go; the span becomes the
// chart's x range (the dashboard redraws it from the full series, so a zoomed chart shows every point of
// the span, not a stretched downsample). A double click, or the figure's "reset zoom" button, goes back.
// The span being dragged is shaded by a small plugin. Pointer events, so a pen works as a mouse does.
import type { Chart, Plugin } from 'chart.js';

/** A drag shorter than this (pixels) is a click, not a zoom. */
const MIN_DRAG_PX = 5;

// the pixel span being dragged, per chart (kept beside the chart: its options are proxied by chart.js)
const dragging = new WeakMap<Chart, [number, number]>();

export const zoomSelectionPlugin: Plugin<'line'> = {
  id: 'zoomSelection',
  afterDraw(chart) {
    const span = dragging.get(chart as unknown as Chart);
    if (!span) return;
    const { ctx, chartArea: a } = chart;
    const [x0, x1] = [Math.min(...span), Math.max(...span)];
    ctx.save();
    ctx.fillStyle = 'rgba(31, 119, 180, 0.15)';
    ctx.fillRect(x0, a.top, x1 - x0, a.bottom - a.top);
    ctx.restore();
  },
};

/**
 * Listen for drags on the chart's canvas; `onZoom` gets the x range in axis units, or null for a reset
 * (double click). Returns whether the last pointer-up ended a drag, so the click that follows it can be
 * told from a click on a point.
 */
export function dragZoom(chart: Chart, onZoom: (range: [number, number] | null) => void): () => boolean {
  const canvas = chart.canvas;
  let start: number | null = null;
  let dragged = false;
  const px = (e: PointerEvent | MouseEvent) => {
    const a = chart.chartArea;
    return Math.min(a.right, Math.max(a.left, e.offsetX));
  };
  canvas.addEventListener('pointerdown', (e) => {
    const a = chart.chartArea;
    if (e.button !== 0 || !a || e.offsetX < a.left || e.offsetX > a.right || e.offsetY < a.top || e.offsetY > a.bottom) return;
    start = e.offsetX;
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (start === null) return;
    dragging.set(chart, [start, px(e)]);
    chart.draw();
  });
  const end = (e: PointerEvent) => {
    if (start === null) return;
    const [a, b] = [start, px(e)];
    start = null;
    dragging.delete(chart);
    dragged = Math.abs(b - a) >= MIN_DRAG_PX;
    if (dragged) {
      const x = chart.scales.x;
      const lo = x.getValueForPixel(Math.min(a, b));
      const hi = x.getValueForPixel(Math.max(a, b));
      if (lo !== undefined && hi !== undefined && hi > lo) onZoom([lo, hi]);
      setTimeout(() => (dragged = false), 0); // the click that follows this pointer-up is not a point's
    }
    chart.draw();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', () => {
    start = null;
    dragging.delete(chart);
    chart.draw();
  });
  canvas.addEventListener('dblclick', () => onZoom(null));
  return () => dragged;
}

// A small chart.js plugin that draws reward-model switches (the online-feedback loop's refreshed reward
// models) and online DPO's rounds as dashed vertical lines across a chart, in the colour of their run,
// labelled "vN" (or "rN") at the top; hovering near one names it ("reward model vN", "DPO round N") in the
// canvas's tooltip. The markers a chart was given
// and how many it actually drew (those inside the plotted x range) are left on the canvas as data
// attributes, so a test, or a curious user, can check what is on the picture without reading pixels.
import type { Chart, Plugin } from 'chart.js';

export interface DrawnMarker {
  /** On the chart's x-axis (step, seconds since start, or wall-clock ms). */
  x: number;
  color: string;
  /** "reward model vN", "DPO round N" */
  label: string;
  /** Written at the top of the line: "vN", "rN". */
  tag: string;
  version: number;
  run: string;
  step: number;
}

// kept beside the chart rather than in its options, so chart.js's option resolver never proxies them
const markersOf = new WeakMap<Chart, DrawnMarker[]>();

export function setMarkers(chart: Chart, markers: DrawnMarker[]): void {
  markersOf.set(chart, markers);
  chart.canvas.dataset.markerLabels = [...new Set(markers.map((m) => m.label))].join('|');
}

/** The markers whose x lies inside the plot, with their pixel column. */
function inside(chart: Chart): { m: DrawnMarker; px: number }[] {
  const x = chart.scales.x;
  const area = chart.chartArea;
  if (!x || !area) return [];
  return (markersOf.get(chart) ?? []).flatMap((m) => {
    const px = x.getPixelForValue(m.x);
    return Number.isFinite(px) && px >= area.left - 0.5 && px <= area.right + 0.5 ? [{ m, px }] : [];
  });
}

export const switchMarkerPlugin: Plugin<'line'> = {
  id: 'switchMarkers',
  afterDatasetsDraw(chart) {
    const drawn = inside(chart as unknown as Chart);
    const { ctx, chartArea: a } = chart;
    ctx.save();
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 3]);
    ctx.font = '10px sans-serif';
    for (const { m, px } of drawn) {
      ctx.strokeStyle = m.color;
      ctx.beginPath();
      ctx.moveTo(px, a.top);
      ctx.lineTo(px, a.bottom);
      ctx.stroke();
      ctx.fillStyle = m.color;
      ctx.fillText(m.tag, px + 2, a.top + 10);
    }
    ctx.restore();
    chart.canvas.dataset.markers = String(drawn.length);
    chart.canvas.dataset.markerPx = drawn.map(({ px }) => px.toFixed(1)).join(',');
  },
  afterEvent(chart, args) {
    const e = args.event;
    if (e.type !== 'mousemove' || e.x === null) return;
    // the nearest marker within a few pixels of the pointer names itself in the canvas's native tooltip
    const near = inside(chart as unknown as Chart).filter(({ px }) => Math.abs(px - e.x!) <= 4).sort((p, q) => Math.abs(p.px - e.x!) - Math.abs(q.px - e.x!))[0];
    chart.canvas.title = near ? `${near.m.label} (run ${near.m.run}, from step ${near.m.step})` : '';
  },
};

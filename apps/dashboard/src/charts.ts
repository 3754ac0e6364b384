import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { metricSeries, type View } from './model';

echarts.use([LineChart, BarChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

/** Global model first (strong), then one calm colour per site. */
export const GLOBAL_COLOUR = '#0f4c81';
const SITE_COLOURS = ['#2a9d8f', '#e9a03b', '#8e7cc3', '#5fa8d3', '#c8553d', '#6a994e', '#b56576', '#7f8c8d'];

const TEXT = '#4a5a6a';
/** The page's font, spelled out: echarts measures legend text with it, and `inherit` would measure wrong. */
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
const AXIS = '#d5dde5';

function base(): echarts.EChartsCoreOption {
  return {
    animation: false,
    textStyle: { fontFamily: FONT, color: TEXT },
    // containLabel: the grid's edges are measured to the axis labels, so long ones (a loss of 11.64) are never cut off.
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    tooltip: { trigger: 'axis', backgroundColor: '#fff', borderColor: AXIS, textStyle: { color: '#1d2b3a', fontSize: 12 } },
  };
}

/** The metric charts' legend: what ECharts lays out in rows, `gap` apart both ways. */
const LEGEND = { itemWidth: 14, gap: 16, fontSize: 11, lineHeight: 14 };
let measureContext: CanvasRenderingContext2D | null = null;

/** Height of the wrapped legend for these names in `width` pixels (text measured in the page's font, as ECharts does). */
export function legendHeight(names: string[], width: number): number {
  measureContext ??= document.createElement('canvas').getContext('2d');
  if (measureContext) measureContext.font = `${LEGEND.fontSize}px ${FONT}`;
  const measure = (s: string) => measureContext?.measureText(s).width ?? s.length * LEGEND.fontSize * 0.6;
  let rows = 1;
  let x = 0;
  for (const name of names) {
    // icon, ECharts' 5 px between icon and text, the text
    const w = LEGEND.itemWidth + 5 + measure(name);
    if (x > 0 && x + LEGEND.gap + w > width) {
      rows++;
      x = w;
    } else x += (x > 0 ? LEGEND.gap : 0) + w;
  }
  return rows * LEGEND.lineHeight + (rows - 1) * LEGEND.gap;
}

export class Charts {
  private readonly accuracy: echarts.ECharts;
  private readonly loss: echarts.ECharts;
  private readonly durations: echarts.ECharts;

  constructor(els: { accuracy: HTMLElement; loss: HTMLElement; durations: HTMLElement }) {
    this.accuracy = echarts.init(els.accuracy, undefined, { renderer: 'svg' });
    this.loss = echarts.init(els.loss, undefined, { renderer: 'svg' });
    this.durations = echarts.init(els.durations, undefined, { renderer: 'svg' });
    new ResizeObserver(() => this.resize()).observe(els.accuracy.parentElement ?? els.accuracy);
  }

  resize(): void {
    this.accuracy.resize();
    this.loss.resize();
    this.durations.resize();
  }

  update(view: View): void {
    this.metric(this.accuracy, view, 'accuracy');
    this.metric(this.loss, view, 'loss');
    const records = [...view.history].sort((a, b) => a.round - b.round);
    this.durations.setOption(
      {
        ...base(),
        grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
        tooltip: { ...(base().tooltip as object), valueFormatter: (v: unknown) => `${Number(v).toFixed(1)} s` },
        xAxis: { type: 'category', data: records.map((r) => `R${r.round}`), axisLine: { lineStyle: { color: AXIS } }, axisTick: { show: false } },
        yAxis: { type: 'value', name: 's', nameGap: 8, nameTextStyle: { align: 'right' }, splitLine: { lineStyle: { color: '#eef2f6' } }, axisLabel: { color: TEXT } },
        series: [{ type: 'bar', name: 'Round time', data: records.map((r) => +(r.durationMs / 1000).toFixed(2)), itemStyle: { color: '#9fc5e8', borderRadius: [3, 3, 0, 0] }, barMaxWidth: 28 }],
      },
      { notMerge: true },
    );
  }

  private metric(chart: echarts.ECharts, view: View, metric: 'accuracy' | 'loss'): void {
    const s = metricSeries(view, metric);
    const names = Object.keys(s.sites);
    const series = [
      {
        type: 'line',
        name: 'Global model',
        data: s.global,
        connectNulls: true,
        symbolSize: 7,
        lineStyle: { width: 3, color: GLOBAL_COLOUR },
        itemStyle: { color: GLOBAL_COLOUR },
        z: 3,
      },
      ...names.map((n, i) => ({
        type: 'line',
        name: n,
        data: s.sites[n],
        connectNulls: true,
        symbolSize: 5,
        lineStyle: { width: 1.5, type: 'dashed', color: SITE_COLOURS[i % SITE_COLOURS.length] },
        itemStyle: { color: SITE_COLOURS[i % SITE_COLOURS.length] },
      })),
    ];
    chart.setOption(
      {
        ...base(),
        // Every name shown: the legend wraps, and the plot starts below its last row.
        legend: { top: 0, left: 0, right: 0, icon: 'roundRect', itemWidth: LEGEND.itemWidth, itemHeight: 4, itemGap: LEGEND.gap, textStyle: { fontFamily: FONT, color: TEXT, fontSize: LEGEND.fontSize } },
        grid: { ...(base().grid as object), top: legendHeight(['Global model', ...names], chart.getWidth()) + 14 },
        tooltip: { ...(base().tooltip as object), valueFormatter: (v: unknown) => (v === null || v === undefined ? '—' : metric === 'accuracy' ? `${(Number(v) * 100).toFixed(1)}%` : Number(v).toFixed(3)) },
        xAxis: {
          type: 'category',
          boundaryGap: false,
          data: s.rounds.map((r) => (r === 0 ? 'init' : `R${r}`)),
          axisLine: { lineStyle: { color: AXIS } },
          axisTick: { show: false },
          axisLabel: { color: TEXT },
        },
        yAxis: {
          type: 'value',
          min: metric === 'accuracy' ? 0 : undefined,
          max: metric === 'accuracy' ? 1 : undefined,
          scale: metric === 'loss',
          splitLine: { lineStyle: { color: '#eef2f6' } },
          axisLabel: { color: TEXT, formatter: metric === 'accuracy' ? (v: number) => `${Math.round(v * 100)}%` : undefined },
        },
        series,
      },
      { notMerge: true },
    );
  }
}

import type { EChartsOption } from 'echarts';
import type { Metrics } from '../metrics';
import { fixed, percent } from './format';
import type { ReportInput } from './types';

/**
 * Chart options for the report, one function per chart. They are plain
 * ECharts options: rendered to SVG on the server (no browser, no DOM) and
 * turned into PNG by sharp in `renderPng`.
 */

export interface ChartSpec {
  /** File name of the PNG. */
  file: string;
  /** Alt text / caption in report.md. */
  caption: string;
  option: EChartsOption;
  width: number;
  height: number;
}

const TEXT = { fontFamily: 'DejaVu Sans, sans-serif' };
const BASE: EChartsOption = { animation: false, backgroundColor: '#ffffff', textStyle: TEXT };
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

const finiteOrNull = (v: number | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function confusionChart(m: Metrics, label: string): ChartSpec {
  const C = m.classes.length;
  const data: { value: [number, number, number]; count: number }[] = [];
  m.confusion.forEach((row, t) => {
    const total = row.reduce((a, v) => a + v, 0);
    row.forEach((count, p) => data.push({ value: [p, t, total > 0 ? count / total : 0], count }));
  });
  const size = Math.max(520, 140 + 110 * C);
  return {
    file: 'confusion.png',
    caption: `Confusion matrix (${label}): counts, coloured by share of the true class`,
    width: size + 80,
    height: size,
    option: {
      ...BASE,
      title: { text: `Confusion matrix — ${label} (n = ${m.count})`, left: 'center', top: 8 },
      grid: { left: 140, right: 100, top: 60, bottom: 90 },
      xAxis: { type: 'category', data: m.classes, name: 'Predicted', nameLocation: 'middle', nameGap: 40, axisLabel: { interval: 0 }, splitArea: { show: true } },
      yAxis: { type: 'category', data: m.classes, name: 'True', nameLocation: 'middle', nameGap: 110, inverse: true, axisLabel: { interval: 0 }, splitArea: { show: true } },
      visualMap: {
        min: 0,
        max: 1,
        calculable: false,
        orient: 'vertical',
        right: 10,
        top: 'middle',
        text: ['100%', '0%'],
        inRange: { color: ['#f7fbff', '#6baed6', '#08306b'] },
      },
      series: [
        {
          type: 'heatmap',
          data,
          label: {
            show: true,
            fontSize: 14,
            formatter: (p: any) => `${p.data.count}\n${percent(p.data.value[2])}`,
            color: '#000',
            backgroundColor: 'rgba(255,255,255,0.7)',
            padding: [2, 4],
          },
        },
      ],
    },
  };
}

/** Classes that get no ROC curve, each with why: no positive examples, or no negative ones. */
export function classesWithoutRoc(m: Metrics): { name: string; reason: 'no positives' | 'no negatives' }[] {
  return m.perClass.filter((c) => c.roc.fpr.length === 0).map((c) => ({ name: c.name, reason: c.support === 0 ? 'no positives' : 'no negatives' }));
}

/** "no curve for pneumonia (no positives), …", or '' when every class has its curve. */
export function missingRocNote(m: Metrics): string {
  const missing = classesWithoutRoc(m);
  return missing.length === 0 ? '' : `no curve for ${missing.map((c) => `${c.name} (${c.reason})`).join(', ')}`;
}

export function rocChart(m: Metrics, label: string): ChartSpec {
  const missing = missingRocNote(m);
  const series: any[] = m.perClass
    .filter((c) => c.roc.fpr.length > 0)
    .map((c, i) => ({
      type: 'line',
      name: `${c.name} (AUC ${fixed(c.auc, 3)})`,
      data: c.roc.fpr.map((x, k) => [x, c.roc.tpr[k]]),
      showSymbol: false,
      lineStyle: { width: 2 },
      color: PALETTE[i % PALETTE.length],
    }));
  series.push({
    type: 'line',
    name: 'chance',
    data: [
      [0, 0],
      [1, 1],
    ],
    showSymbol: false,
    lineStyle: { type: 'dashed', width: 1, color: '#999' },
    color: '#999',
  });
  return {
    file: 'roc.png',
    caption: `ROC curves, one class against the rest (${label})${missing ? `; ${missing}` : ''}`,
    width: 720,
    height: 640,
    option: {
      ...BASE,
      title: { text: `ROC curves — ${label} (macro AUC ${fixed(m.macroAuc, 3)})`, left: 'center', top: 8, ...(missing ? { subtext: `${missing[0].toUpperCase()}${missing.slice(1)}` } : {}) },
      // Vertical legends: server-side rendering only estimates text widths, so side-by-side items can collide.
      legend: { orient: 'vertical', right: 60, bottom: 80, backgroundColor: 'rgba(255,255,255,0.9)', borderColor: '#ccc', borderWidth: 1, padding: 8 },
      grid: { left: 80, right: 40, top: 60, bottom: 60 },
      xAxis: { type: 'value', min: 0, max: 1, name: 'False positive rate (1 − specificity)', nameLocation: 'middle', nameGap: 30 },
      yAxis: { type: 'value', min: 0, max: 1, name: 'True positive rate (sensitivity)', nameLocation: 'middle', nameGap: 45 },
      series,
    },
  };
}

export function calibrationChart(m: Metrics, calibration: { count: number[]; confidenceSum: number[]; correct: number[] }, label: string): ChartSpec {
  const k = calibration.count.length;
  const labels: string[] = [];
  const accuracy: (number | null)[] = [];
  const confidence: (number | null)[] = [];
  for (let b = 0; b < k; b++) {
    labels.push(`${(b / k).toFixed(2)}–${((b + 1) / k).toFixed(2)}`);
    const n = calibration.count[b];
    accuracy.push(n > 0 ? calibration.correct[b] / n : null);
    confidence.push(n > 0 ? calibration.confidenceSum[b] / n : null);
  }
  return {
    file: 'calibration.png',
    caption: `Reliability of the top score (${label}): accuracy against mean confidence per bin`,
    width: 820,
    height: 520,
    option: {
      ...BASE,
      title: { text: `Calibration — ${label} (ECE ${fixed(m.ece, 3)})`, left: 'center', top: 8 },
      legend: { orient: 'vertical', left: 90, top: 70, backgroundColor: 'rgba(255,255,255,0.9)', borderColor: '#ccc', borderWidth: 1, padding: 8 },
      grid: { left: 70, right: 70, top: 60, bottom: 80 },
      xAxis: { type: 'category', data: labels, name: 'Top score', nameLocation: 'middle', nameGap: 50, axisLabel: { rotate: 35, fontSize: 10, interval: 0 } },
      yAxis: [
        { type: 'value', min: 0, max: 1, name: 'Accuracy / confidence' },
        { type: 'value', name: 'Examples', splitLine: { show: false } },
      ],
      series: [
        { type: 'bar', name: 'accuracy', data: accuracy, color: '#6baed6' },
        { type: 'line', name: 'mean confidence', data: confidence, color: '#d62728', connectNulls: true },
        { type: 'line', name: 'examples', yAxisIndex: 1, data: calibration.count, color: '#999', lineStyle: { type: 'dashed' }, symbolSize: 4 },
      ],
    },
  };
}

export function learningChart(input: ReportInput, metric: 'accuracy' | 'loss'): ChartSpec {
  const rounds = [...input.rounds].sort((a, b) => a.round - b.round);
  const sites = [...new Set(rounds.flatMap((r) => Object.keys(r.sites ?? {})))].sort();
  const series: any[] = [
    {
      type: 'line',
      name: 'global (pooled)',
      data: rounds.map((r) => [r.round, finiteOrNull(r.global?.[metric])]),
      lineStyle: { width: 3 },
      symbolSize: 6,
      color: '#000000',
      z: 10,
    },
    ...sites.map((s, i) => ({
      type: 'line',
      name: s,
      data: rounds.map((r) => [r.round, finiteOrNull(r.sites?.[s]?.[metric])]),
      lineStyle: { width: 1.5, type: 'dashed' },
      symbolSize: 4,
      color: PALETTE[i % PALETTE.length],
    })),
  ];
  const base = input.baseline?.[metric];
  if (typeof base === 'number' && Number.isFinite(base) && rounds.length > 0) {
    series.push({
      type: 'line',
      name: `baseline (${fixed(base, 3)})`,
      data: [
        [rounds[0].round, base],
        [rounds[rounds.length - 1].round, base],
      ],
      showSymbol: false,
      lineStyle: { type: 'dotted', width: 2 },
      color: '#888',
    });
  }
  const title = metric === 'accuracy' ? 'Accuracy per round' : 'Loss per round';
  return {
    file: `learning-${metric}.png`,
    caption: `${title}: the global model pooled over every site, and at each site`,
    width: 900,
    height: 500,
    option: {
      ...BASE,
      title: { text: title, left: 'center', top: 8 },
      legend: { orient: 'vertical', right: 10, top: 'middle' },
      grid: { left: 70, right: 190, top: 60, bottom: 60 },
      xAxis: { type: 'value', name: 'Round', nameLocation: 'middle', nameGap: 30, minInterval: 1, min: 'dataMin', max: 'dataMax' },
      yAxis: metric === 'accuracy' ? { type: 'value', min: 0, max: 1, name: 'Accuracy' } : { type: 'value', name: 'Loss', scale: true },
      series,
    },
  };
}

export function crossSiteChart(cross: NonNullable<ReportInput['crossSite']>): ChartSpec {
  const models = cross.models ?? cross.sites;
  const data: [number, number, number | null][] = [];
  cross.accuracy.forEach((row, i) => row.forEach((v, j) => data.push([j, i, finiteOrNull(v)])));
  const size = Math.max(480, 160 + 90 * Math.max(models.length, cross.sites.length));
  // Colour from the lowest tenth below the worst cell, so differences between good models show.
  const values = data.map((d) => d[2]).filter((v): v is number => v !== null);
  const low = values.length > 0 ? Math.max(0, Math.floor(Math.min(...values) * 10) / 10) : 0;
  return {
    file: 'cross-site.png',
    caption: 'Cross-site evaluation: accuracy of each site’s model (rows) on each site’s test data (columns)',
    width: size + 80,
    height: size,
    option: {
      ...BASE,
      title: { text: 'Cross-site accuracy', left: 'center', top: 8 },
      grid: { left: 150, right: 100, top: 60, bottom: 90 },
      xAxis: { type: 'category', data: cross.sites, name: 'Data of site', nameLocation: 'middle', nameGap: 40, axisLabel: { interval: 0 } },
      yAxis: { type: 'category', data: models, name: 'Model of site', nameLocation: 'middle', nameGap: 120, inverse: true, axisLabel: { interval: 0 } },
      visualMap: { min: low, max: 1, orient: 'vertical', right: 10, top: 'middle', text: ['1', fixed(low, 1)], inRange: { color: ['#fff5eb', '#fd8d3c', '#7f2704'] } },
      series: [
        {
          type: 'heatmap',
          data,
          label: { show: true, fontSize: 14, formatter: (p: any) => fixed(p.value[2], 3), color: '#000', backgroundColor: 'rgba(255,255,255,0.8)', padding: [2, 4] },
        },
      ],
    },
  };
}

/** Renders a chart headless: ECharts server-side SVG, then sharp to PNG at twice the size for sharp text. */
export async function renderPng(spec: ChartSpec): Promise<Buffer> {
  const echarts = await import('echarts');
  const { default: sharp } = await import('sharp');
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: spec.width, height: spec.height });
  let svg: string;
  try {
    chart.setOption(spec.option);
    svg = chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
  return sharp(Buffer.from(svg), { density: 144 }).png({ compressionLevel: 9 }).toBuffer();
}

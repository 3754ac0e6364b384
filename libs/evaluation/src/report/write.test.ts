import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { computeMetrics } from '../metrics';
import { addPredictions, createSummary, mergeSummaries } from '../summary';
import { syntheticOutputs } from '../synthetic';
import { writeReport } from './write';
import type { ReportInput } from './types';

const CLASSES = ['covid19', 'normal', 'pneumonia', 'tuberculosis'];

function siteSummary(seed: number, n: number, margin: number) {
  const { probs, labels } = syntheticOutputs(n, CLASSES.length, margin, 2, seed);
  return addPredictions(createSummary(CLASSES), probs, labels);
}

function sampleInput(): ReportInput {
  const perSite = { 'st-mary': siteSummary(1, 300, 4), 'general': siteSummary(2, 200, 3), 'north-clinic': siteSummary(3, 120, 2.5) };
  const rounds = Array.from({ length: 6 }, (_, i) => ({
    round: i + 1,
    global: { accuracy: 0.45 + 0.08 * i, loss: 1.3 - 0.18 * i },
    sites: {
      'st-mary': { accuracy: 0.5 + 0.08 * i, loss: 1.2 - 0.17 * i },
      'general': { accuracy: 0.42 + 0.07 * i, loss: 1.35 - 0.15 * i },
      'north-clinic': { accuracy: 0.4 + 0.075 * i, loss: 1.4 - 0.16 * i },
    },
  }));
  return {
    title: 'Test run',
    classes: CLASSES,
    rounds,
    final: { test: mergeSummaries(Object.values(perSite)), val: siteSummary(9, 250, 3), train: { accuracy: 0.91, loss: 0.27 } },
    perSite,
    crossSite: {
      sites: ['st-mary', 'general', 'north-clinic'],
      accuracy: [
        [0.86, 0.71, 0.65],
        [0.7, 0.82, 0.66],
        [0.61, 0.64, 0.8],
      ],
    },
    baseline: { accuracy: 0.8497, loss: 0.4 },
    config: { rounds: 6, strategy: 'fedavg' },
  };
}

test('writeReport writes report.json, report.md and valid PNG charts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-report-'));
  try {
    const input = sampleInput();
    const { files } = await writeReport(join(dir, 'out'), input);
    const names = files.map((f) => basename(f));
    assert.deepEqual(names, [
      'report.json',
      'report.md',
      'confusion.png',
      'roc.png',
      'calibration.png',
      'learning-accuracy.png',
      'learning-loss.png',
      'cross-site.png',
    ]);
    for (const f of files.filter((f) => f.endsWith('.png'))) {
      const meta = await sharp(f).metadata();
      assert.equal(meta.format, 'png', f);
      assert.ok((meta.width ?? 0) > 0 && (meta.height ?? 0) > 0, `${f}: ${meta.width}×${meta.height}`);
      const stats = await sharp(f).stats();
      // A blank canvas has one colour; a chart has ink on it.
      assert.ok(stats.channels[0].stdev > 10, `${f} looks blank`);
    }

    const json = JSON.parse(await readFile(join(dir, 'out', 'report.json'), 'utf8'));
    const expected = computeMetrics(input.final.test);
    assert.equal(json.final.test.metrics.accuracy, expected.accuracy);
    assert.equal(json.final.test.metrics.perClass[0].auc, expected.perClass[0].auc);
    assert.equal(json.final.train.accuracy, 0.91);
    assert.deepEqual(Object.keys(json.perSite).sort(), ['general', 'north-clinic', 'st-mary']);
    assert.equal(json.final.test.summary.count, 620);

    const md = await readFile(join(dir, 'out', 'report.md'), 'utf8');
    assert.match(md, /^# Test run/);
    assert.match(md, /Macro averages are the unweighted mean over all classes\./);
    assert.doesNotMatch(md, /no curve for/);
    assert.match(md, /\| train \| 0\.9100 \| 0\.2700 \|/);
    assert.match(md, new RegExp(`\\| test \\| ${expected.accuracy.toFixed(4)} \\|`));
    assert.match(md, /\| validation \| 0\.\d{4} \|/);
    assert.match(md, new RegExp(`\\| covid19 \\| ${expected.perClass[0].precision.toFixed(4)} \\| ${expected.perClass[0].recall.toFixed(4)} \\|`));
    for (const png of ['confusion.png', 'roc.png', 'calibration.png', 'learning-accuracy.png', 'learning-loss.png', 'cross-site.png']) {
      assert.match(md, new RegExp(`!\\[[^\\]]+\\]\\(${png.replace('.', '\\.')}\\)`));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a report of one evaluation without rounds still has three charts; undefined metrics print as –', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-report-'));
  try {
    // Only two of the four classes occur.
    const s = addPredictions(createSummary(CLASSES), new Float32Array([0.7, 0.1, 0.1, 0.1, 0.2, 0.6, 0.1, 0.1]), [0, 1]);
    const { files } = await writeReport(dir, { title: 'One model', classes: CLASSES, rounds: [], final: { test: s, testName: 'val' } });
    assert.equal(files.filter((f) => f.endsWith('.png')).length, 3);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    assert.match(md, /\| val \| 1\.0000 \|/);
    assert.match(md, /## Evaluated split: val/);
    assert.match(md, /\| pneumonia \| – \| – \|/);
    // what – means, what the macro averages skip, and which classes the ROC chart has no curve for
    assert.match(md, /–: undefined\. Recall and AUC need examples of the class/);
    assert.match(md, /Macro averages are the unweighted mean over the classes where the metric is defined; undefined classes are skipped \(precision: pneumonia, tuberculosis; recall: pneumonia, tuberculosis; F1: pneumonia, tuberculosis; AUC: pneumonia, tuberculosis\)/);
    assert.match(md, /ROC curves: no curve for pneumonia \(no positives\), tuberculosis \(no positives\)\./);
    assert.match(md, /!\[ROC curves, one class against the rest \(val\); no curve for pneumonia \(no positives\), tuberculosis \(no positives\)\]\(roc\.png\)/);
    const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
    assert.equal(json.final.test.metrics.perClass[2].precision, null);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('writeReport refuses summaries over other classes', async () => {
  const s = createSummary(['a', 'b']);
  await assert.rejects(writeReport(join(tmpdir(), 'never-written'), { title: 't', classes: ['a', 'c'], rounds: [], final: { test: s } }), /final\.test: expected classes \[a, c\], but got \[a, b\]/);
});

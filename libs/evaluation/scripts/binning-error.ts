// Measures how far the AUC from score histograms is from the exact AUC over
// the raw scores, for several bin counts, against equal-width bins.
// Run: npx tsx libs/evaluation/scripts/binning-error.ts
import { exactAuc, histogramAuc } from '../src/auc';
import { computeMetrics } from '../src/metrics';
import { addPredictions, createSummary } from '../src/summary';
import { syntheticOutputs } from '../src/synthetic';

const C = 4;
const N = 4000;
const SEEDS = [1, 2, 3, 4, 5, 6];
const DISTRIBUTIONS = [
  { name: 'well separated', margin: 6, spread: 1.5 },
  { name: 'overlapping', margin: 1, spread: 1 },
  { name: 'piled up near 0/1', margin: 8, spread: 6 },
];

console.log(`worst |binned - exact| AUC over ${SEEDS.length} seeds × ${C} classes, ${N} examples each; (worst bound from the histograms)`);
console.log(['bins', ...DISTRIBUTIONS.map((d) => d.name), ...DISTRIBUTIONS.map((d) => `${d.name}, equal-width`)].join(' | '));
for (const bins of [100, 250, 500, 1000, 2000, 4000]) {
  const cells: string[] = [];
  const equalWidth: string[] = [];
  for (const d of DISTRIBUTIONS) {
    let worst = 0;
    let worstBound = 0;
    let worstEqual = 0;
    for (const seed of SEEDS) {
      const { probs, labels } = syntheticOutputs(N, C, d.margin, d.spread, seed);
      const m = computeMetrics(addPredictions(createSummary(['a', 'b', 'c', 'd'], { bins }), probs, labels));
      for (let c = 0; c < C; c++) {
        const scores = Array.from({ length: N }, (_, i) => probs[i * C + c]);
        const positive = Array.from(labels, (y) => y === c);
        const exact = exactAuc(scores, positive);
        worst = Math.max(worst, Math.abs(m.perClass[c].auc - exact));
        worstBound = Math.max(worstBound, m.perClass[c].aucErrorBound);
        const neg = new Array<number>(bins).fill(0);
        const pos = new Array<number>(bins).fill(0);
        scores.forEach((s, i) => ((positive[i] ? pos : neg)[Math.min(bins - 1, Math.floor(s * bins))] += 1));
        worstEqual = Math.max(worstEqual, Math.abs(histogramAuc(neg, pos).auc - exact));
      }
    }
    cells.push(`${worst.toExponential(1)} (${worstBound.toExponential(1)})`);
    equalWidth.push(worstEqual.toExponential(1));
  }
  console.log([String(bins), ...cells, ...equalWidth].join(' | '));
}

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunState } from '@fedxray/coordinator';
import { Simulation } from '@fedxray/simulation';
import { browserMissing, launchBrowser } from './support/browser';
import { serveDashboard } from './support/dashboard-server';
import { makeBlobDataset, tempDir } from './support/images';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(ROOT, 'apps', 'dashboard', 'dist');
/** Set FEDXRAY_SCREENSHOT=1 to refresh the README's screenshot. */
const SCREENSHOT = process.env.FEDXRAY_SCREENSHOT ? join(ROOT, 'docs', 'images', 'dashboard.png') : null;

interface Seen {
  round: number;
  phase: string | null;
  status: string;
  rows: { name: string; rounds: number; text: string }[];
  jobs: number;
  /** The global accuracy card, and whether the accuracy chart plots the initial model ("init"). */
  accuracy: string;
  initPlotted: boolean;
  /** The rounds table: round, whose updates were used, failed jobs. */
  roundRows: { round: number; used: string; failed: string }[];
}

/** What the page shows right now, read from the DOM the way a person would read it. */
function readPage(): Seen {
  const round = Number(document.getElementById('round-number')?.dataset.round ?? 0);
  return {
    round,
    phase: document.querySelector('#phases li.now')?.getAttribute('data-phase') ?? null,
    status: document.getElementById('run-status')?.textContent ?? '',
    rows: Array.from(document.querySelectorAll<HTMLTableRowElement>('#hospital-rows tr[data-hospital]')).map((tr) => ({
      name: tr.dataset.hospital ?? '',
      rounds: Number(tr.dataset.rounds ?? -1),
      text: tr.textContent ?? '',
    })),
    jobs: document.querySelectorAll('#jobs .job').length,
    accuracy: document.getElementById('global-accuracy')?.textContent ?? '',
    initPlotted: Array.from(document.querySelectorAll('#chart-accuracy svg text')).some((t) => t.textContent === 'init'),
    roundRows: Array.from(document.querySelectorAll<HTMLTableRowElement>('#round-rows tr[data-round]')).map((tr) => ({
      round: Number(tr.dataset.round),
      used: tr.querySelector('[data-col="used"]')?.textContent ?? '',
      failed: tr.querySelector('[data-col="failed"]')?.textContent ?? '',
    })),
  };
}

function ensureBuilt(): void {
  if (existsSync(join(DIST, 'index.html'))) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], { cwd: join(ROOT, 'apps', 'dashboard'), encoding: 'utf8' });
  assert.equal(r.status, 0, `vite build failed:\n${r.stdout}\n${r.stderr}`);
}

/** Skips the test, saying why, when no browser can run here; otherwise makes sure the page is built. */
function pageReady(t: TestContext): boolean {
  const missing = browserMissing();
  if (missing) {
    t.skip(`browser test skipped: ${missing}`);
    return false;
  }
  ensureBuilt();
  return true;
}

test('the dashboard follows a simulated federation live: rounds advance, one row per hospital updates', { timeout: 150_000 }, async (t) => {
  if (!pageReady(t)) return;
  // Prepare: a tiny data set, a browser.
  const { dir } = await makeBlobDataset({ perClass: 36, size: 16, seed: 11 });
  const { context, close } = await launchBrowser();
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(m.text())) pageErrors.push(m.text());
  });

  const sim = new Simulation(
    Simulation.parse({
      data: dir,
      hospitals: 2,
      rounds: 3,
      localEpochs: 1,
      batchSize: 16,
      model: { arch: 'densenet-tiny', imageSize: 16, optimizer: { name: 'adam', learningRate: 0.01 } },
      backend: 'cpu',
      augment: false,
      out: tempDir('fedxray-dashboard-'),
      dashboardDir: DIST,
      seed: 3,
    }),
  );
  // The coordinator's URL: from `listening`, or from `plan` once the hospitals are up.
  const listening = new Promise<string>((resolve) => {
    sim.once('listening', ({ url }) => resolve(url));
    sim.once('plan', ({ url }) => resolve(url));
  });
  const problems: string[] = [];
  sim.on('roundFailed', (f) => problems.push(JSON.stringify(f)));
  let settled = false;
  const run = sim.run().finally(() => (settled = true));
  run.catch(() => undefined);

  // Execute: open the page as soon as the coordinator listens, and read it every 100 ms until the run ends.
  const seen: Seen[] = [];
  let shot = false;
  let result: Awaited<typeof run> | undefined;
  try {
    const url = new URL('/', await Promise.race([listening, run.then(() => Promise.reject(new Error('the run ended before the page could open')))])).href;
    await page.goto(url, { waitUntil: 'load' });
    while (!settled) {
      const s = await page.evaluate(readPage).catch(() => null);
      if (s) seen.push(s);
      // The README's picture: the last round training, with curves for the earlier ones.
      if (SCREENSHOT && !shot && s && s.round === 3 && s.phase === 'fit' && s.jobs === 2) {
        await page
          .waitForFunction(() => Array.from(document.querySelectorAll<HTMLElement>('#jobs .fill')).some((f) => parseFloat(f.style.width) > 20), undefined, { timeout: 4000 })
          .catch(() => undefined);
        mkdirSync(dirname(SCREENSHOT), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
        shot = true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    result = await run;
    assert.equal(result.result.status, 'complete', `${result.result.error ?? ''} ${problems.join('; ')}`);
    // The page keeps the last state it was sent after the coordinator closes.
    await page.waitForFunction(() => document.getElementById('run-status')?.textContent === 'Complete', undefined, { timeout: 10_000 });
    seen.push(await page.evaluate(readPage));
    if (SCREENSHOT && !shot) await page.screenshot({ path: SCREENSHOT, fullPage: true });
  } finally {
    await close();
    if (!settled) await run.catch(() => undefined);
  }

  // Assert: the round number advanced through the run and ended at 3.
  const rounds = [...new Set(seen.map((s) => s.round).filter((r) => r > 0))];
  assert.ok(rounds.length >= 2, `expected the page to show the round number advance, saw only ${JSON.stringify(rounds)}`);
  assert.deepEqual(
    rounds,
    [...rounds].sort((a, b) => a - b),
    'round numbers shown out of order',
  );
  const last = seen[seen.length - 1];
  assert.equal(last.round, 3);
  assert.equal(last.status, 'Complete');
  // One row per hospital, and each row changed while the run went on.
  assert.deepEqual(last.rows.map((r) => r.name).sort(), ['hospital-1', 'hospital-2']);
  for (const name of ['hospital-1', 'hospital-2']) {
    const history = seen.flatMap((s) => s.rows.filter((r) => r.name === name));
    assert.ok(history.length > 0, `no row for ${name}`);
    assert.ok(new Set(history.map((r) => r.text)).size >= 2, `the row of ${name} never changed: ${history[0].text}`);
    assert.equal(history[history.length - 1].rounds, 3, `${name} should have contributed to 3 rounds`);
    assert.ok(new Set(history.map((r) => r.rounds)).size >= 2, `${name}'s round count never moved on the page`);
  }
  // The accuracy card never says "—" while the chart already plots the initial model (as it does before round 1 ends).
  assert.ok(
    seen.some((s) => s.initPlotted && s.round === 1 && s.rows.every((r) => r.rounds === 0)),
    'the page was seen with only the initial model evaluated',
  );
  assert.deepEqual(
    seen.filter((s) => s.initPlotted && !/^\d+\.\d%$/.test(s.accuracy)).map((s) => s.accuracy),
    [],
  );
  // The rounds table: every round, both hospitals' updates used, and each failed job of the round (none expected but the run's own).
  assert.deepEqual(
    last.roundRows.map((r) => [r.round, r.used]),
    [
      [3, 'hospital-1, hospital-2'],
      [2, 'hospital-1, hospital-2'],
      [1, 'hospital-1, hospital-2'],
    ],
  );
  const failed = result!.result.rounds.flatMap((r) => r.failedJobs.map((f) => `${r.round}:${f.hospital} (${f.phase}): ${f.error}`));
  for (const f of failed) assert.ok(last.roundRows.find((r) => r.round === Number(f.split(':')[0]))!.failed.includes(f.slice(f.indexOf(':') + 1)), f);
  assert.deepEqual(pageErrors, []);
});

/** Elements whose text is cut off (wider or taller than their box), and chart texts outside their chart or over each other. */
function cutOff(): string[] {
  const problems: string[] = [];
  for (const sel of ['.card-value', '.card-sub', '.job-name', '#confusion', '#confusion th', '#config dt', '#config dd', '#hospital-rows td']) {
    for (const e of Array.from(document.querySelectorAll<HTMLElement>(sel))) {
      if (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1) problems.push(`${sel} "${e.textContent}" is cut off (${e.scrollWidth}×${e.scrollHeight} in ${e.clientWidth}×${e.clientHeight})`);
    }
  }
  for (const id of ['chart-accuracy', 'chart-loss', 'chart-durations']) {
    const box = document.getElementById(id)!.getBoundingClientRect();
    const texts = Array.from(document.querySelectorAll(`#${id} svg text`))
      .filter((t) => (t.textContent ?? '').trim() !== '')
      .map((t) => ({ text: t.textContent!, r: t.getBoundingClientRect() }));
    for (const { text, r } of texts) {
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) problems.push(`${id}: "${text}" lies outside the chart`);
    }
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i].r;
        const b = texts[j].r;
        const overlap = Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left)) * Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
        if (overlap > 4) problems.push(`${id}: "${texts[i].text}" and "${texts[j].text}" overlap`);
      }
    }
  }
  return problems;
}

test('the dashboard shows the initial model on its cards, and cuts off no label: long class names, many sites, large losses', { timeout: 60_000 }, async (t) => {
  if (!pageReady(t)) return;
  // Prepare: a run state as the coordinator sends it, with what is hard to lay out.
  const classes = ['covid19', 'normal', 'pneumonia', 'tuberculosis', 'left-lower-lobe-consolidation'];
  const sites = ['st-marys-hospital', 'royal-infirmary', 'childrens-hospital', 'university-clinic', 'county-general', 'hospital-6'];
  const now = Date.now();
  const record = (round: number, accuracy: number, loss: number): RunState['history'][number] => ({
    round,
    attempt: 1,
    startedAt: now - 60_000 + round * 1000,
    durationMs: 123_456,
    fit: { loss, accuracy, examples: 100, hospitals: sites, failures: [], used: sites, discarded: [] },
    metrics: { accuracy, loss, balancedAccuracy: accuracy },
    sites: Object.fromEntries(sites.map((n, i) => [n, { examples: 10, loss: loss + i, accuracy }])),
    fitSites: {},
    failedJobs: [],
  });
  const training: RunState = {
    run: { id: 'run-20261204T024553-b12d10', status: 'running', rounds: 20, completedRounds: 0, startedAt: now - 90_000, config: { model: { arch: 'densenet121', classes }, rounds: 20, minAvailable: 2 }, error: null },
    current: { round: 1, attempt: 1, phase: 'fit', startedAt: now - 5000, jobs: sites.map((name) => ({ name, status: 'training', progress: { epoch: 1, epochs: 2, done: 10, total: 100, loss: 11.64 } })) },
    hospitals: sites.map((name) => ({ name, connected: true, lastSeen: now, backend: 'wasm', software: 'fedxray/0.1.0', examples: { train: 12_345, val: 1234, test: 1234 }, lastLoss: 11.64, lastAccuracy: 0.5, failures: 0, roundsContributed: 0 })),
    history: [],
    initial: { accuracy: 0.25, loss: 123.456 },
    confusion: { classes, matrix: classes.map((_, i) => classes.map((_, j) => (i === j ? 1234 : 12))) },
  };
  const privacy: RunState['privacy'] = { secureAggregation: true, dp: { epsilon: 12.3456, delta: 1e-5, noiseMultiplier: 1, clip: 1, rounds: 2, mode: 'distributed', epsilonBudget: 20, perRound: [] } };
  const later: RunState = { ...training, run: { ...training.run, completedRounds: 2 }, current: { ...training.current!, round: 3 }, history: [record(1, 0.4, 11.64), record(2, 0.6, 0.0012)], privacy };
  const server = await serveDashboard(DIST);
  const { context, close } = await launchBrowser({ width: 1280, height: 900 });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    // Execute: before round 1 ends, then two rounds later.
    server.show(training);
    await page.goto(server.url, { waitUntil: 'load' });
    await page.waitForFunction(() => document.getElementById('run-id')?.textContent?.startsWith('run-'));
    const cards = await page.evaluate(() => ['global-accuracy', 'accuracy-sub', 'global-loss', 'loss-sub'].map((id) => document.getElementById(id)!.textContent));
    const privacyHidden = await page.evaluate(() => document.getElementById('privacy-card')!.hidden);
    server.show(later);
    await page.waitForFunction(() => document.getElementById('round-number')?.dataset.round === '3');
    await page.waitForFunction(() => document.querySelectorAll('#chart-loss svg text').length > 10);
    const problems = await page.evaluate(cutOff);
    const legend = await page.evaluate(() => Array.from(document.querySelectorAll('#chart-loss svg text')).map((t) => t.textContent));
    const headers = await page.evaluate(() => Array.from(document.querySelectorAll('#confusion thead th')).map((t) => t.textContent));
    const privacyCard = await page.evaluate(() => [document.getElementById('privacy-card')!.hidden, document.getElementById('privacy')!.textContent, document.getElementById('privacy-sub')!.textContent]);

    // Assert
    assert.deepEqual(cards, ['25.0%', 'initial model, before round 1', '123.456', 'initial model, before round 1']);
    assert.deepEqual(problems, []);
    for (const name of ['Global model', ...sites]) assert.ok(legend.includes(name), `${name} in the loss chart's legend`);
    assert.deepEqual(headers.slice(1), classes);
    assert.equal(privacyHidden, true, 'a plain run shows no privacy card');
    assert.deepEqual(privacyCard, [false, 'ε = 12.35 of budget 20', 'δ = 0.00001 · 2 rounds · distributed DP · secure aggregation'], 'with DP the card shows ε spent, and no label is cut off beside it');
  } finally {
    await close();
    await server.close();
  }
});

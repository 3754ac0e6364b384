import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Simulation } from '@fedxray/simulation';
import { browserMissing, launchBrowser } from './support/browser';
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

test('the dashboard follows a simulated federation live: rounds advance, one row per hospital updates', { timeout: 150_000 }, async (t) => {
  const missing = browserMissing();
  if (missing) {
    t.skip(`browser test skipped: ${missing}`);
    return;
  }
  // Prepare: the built page, a tiny data set, a browser.
  ensureBuilt();
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

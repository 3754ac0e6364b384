import type { JobProgress, RoundState } from '@fedxray/coordinator';
import { Charts } from './charts';
import { currentRound, flattenConfig, formatAgo, formatDuration, formatNumber, formatPercent, latestMetrics, privacyCard, roundRows, type HospitalView, type View } from './model';

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`dashboard: missing element #${id}`);
  return el;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Sets text only when it changed, so live updates do not churn the DOM. */
function setText(e: Element, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

const PHASES: RoundState['phase'][] = ['waiting', 'fit', 'aggregate', 'calibrate', 'evaluate', 'done'];
const JOB_LABEL: Record<string, string> = { pending: 'Waiting', training: 'Training', calibrating: 'Calibrating', evaluating: 'Evaluating', done: 'Done', failed: 'Failed' };

/** Fraction of a job's work done, from its progress report (0 when unknown). */
export function jobFraction(status: string, p: JobProgress | null): number {
  if (status === 'done') return 1;
  if (!p || p.total <= 0) return 0;
  const epochs = Math.max(1, p.epochs);
  const epoch = Math.min(Math.max(1, p.epoch), epochs);
  return Math.min(1, ((epoch - 1) * p.total + Math.min(p.done, p.total)) / (epochs * p.total));
}

/** Renders a View into the static page; keeps DOM nodes keyed by hospital so rows update in place. */
export class Page {
  private readonly charts = new Charts({ accuracy: $('chart-accuracy'), loss: $('chart-loss'), durations: $('chart-durations') });
  private view: View | null = null;
  private configKey = '';
  private confusionKey = '';

  render(view: View): void {
    this.view = view;
    const { run } = view;
    setText($('run-id'), run.id);
    const status = $('run-status');
    status.dataset.status = run.status;
    setText(status, run.status === 'running' ? 'Running' : run.status === 'complete' ? 'Complete' : run.status === 'failed' ? 'Failed' : 'Stopped');
    this.cards(view);
    this.round(view);
    this.hospitals(view);
    this.rounds(view);
    this.charts.update(view);
    setText($('durations-sub'), view.history.length ? `mean ${formatDuration(view.history.reduce((s, r) => s + r.durationMs, 0) / view.history.length)}` : '');
    this.confusion(view);
    this.config(view);
    const model = $('model-link') as HTMLAnchorElement;
    model.hidden = !(view.source === 'live' && view.history.length > 0);
    this.tick();
  }

  /** Refreshes the clock-driven texts (elapsed, last seen) between updates. */
  tick(): void {
    const view = this.view;
    if (!view) return;
    const now = Date.now();
    const last = view.history.reduce((m, r) => Math.max(m, r.startedAt + r.durationMs), view.run.startedAt);
    const end = view.run.status === 'running' && view.source === 'live' ? now : last;
    setText($('elapsed'), formatDuration(end - view.run.startedAt));
    setText($('elapsed-sub'), `started ${new Date(view.run.startedAt).toLocaleString()}`);
    const c = view.current;
    setText($('round-clock'), c && c.phase !== 'done' && view.run.status === 'running' ? `round ${c.round} · ${formatDuration(now - c.startedAt)}` : c ? `round ${c.round}` : '');
    for (const h of view.hospitals) {
      const cell = document.querySelector(`tr[data-hospital="${CSS.escape(h.name)}"] td[data-col="seen"]`);
      if (cell) setText(cell, h.connected ? formatAgo(h.lastSeen, now) : h.lastSeen ? formatAgo(h.lastSeen, now) : '—');
    }
  }

  private cards(view: View): void {
    const round = currentRound(view);
    const r = $('round-number');
    r.dataset.round = String(round);
    setText(r, round ? `${round} / ${view.run.rounds}` : `— / ${view.run.rounds}`);
    setText($('round-sub'), `${view.run.completedRounds} completed${view.current && view.current.attempt > 1 ? ` · attempt ${view.current.attempt}` : ''}`);
    const { latest, of, previous, against } = latestMetrics(view);
    setText($('global-accuracy'), formatPercent(latest?.accuracy));
    setText($('global-loss'), formatNumber(latest?.loss));
    const sub = (metric: 'accuracy' | 'loss'): string => {
      if (!latest) return 'after the first evaluation';
      if (of === 'initial') return 'initial model, before round 1';
      const a = latest[metric];
      const b = previous?.[metric];
      if (typeof a !== 'number' || typeof b !== 'number') return metric === 'accuracy' ? `balanced ${formatPercent(latest.balancedAccuracy)}` : '';
      const d = a - b;
      return `${d >= 0 ? '+' : ''}${metric === 'accuracy' ? `${(d * 100).toFixed(1)} pt` : d.toFixed(3)} vs ${against}`;
    };
    setText($('accuracy-sub'), sub('accuracy'));
    setText($('loss-sub'), sub('loss'));
    const privacy = privacyCard(view.privacy);
    $('privacy-card').hidden = !privacy;
    if (privacy) {
      setText($('privacy'), privacy.value);
      setText($('privacy-sub'), privacy.sub);
    }
    if (view.source === 'live') {
      const connected = view.hospitals.filter((h) => h.connected).length;
      setText($('connected'), `${connected} / ${view.hospitals.length}`);
      const min = view.run.config.minAvailable;
      setText($('connected-sub'), typeof min === 'number' ? `at least ${min} needed per round` : '');
    } else {
      setText($('connected'), String(view.hospitals.length));
      setText($('connected-sub'), 'took part in this run');
    }
  }

  private round(view: View): void {
    const c = view.current;
    const phaseIndex = c ? PHASES.indexOf(c.phase) : view.run.status === 'complete' ? PHASES.length - 1 : -1;
    const failed = c?.phase === 'failed';
    for (const li of Array.from($('phases').querySelectorAll('li'))) {
      const i = PHASES.indexOf(li.dataset.phase as RoundState['phase']);
      li.className = failed ? 'failed' : i < phaseIndex ? 'past' : i === phaseIndex ? 'now' : '';
    }
    const jobs = $('jobs');
    if (!c || c.jobs.length === 0) {
      if (!jobs.querySelector('.empty')) jobs.replaceChildren(el('p', { class: 'empty' }, 'No round in progress.'));
      setText(jobs.querySelector('.empty')!, view.source === 'stored' ? 'A finished run: rounds are shown below.' : view.run.status === 'running' ? 'Waiting for enough hospitals to start a round.' : 'No round in progress.');
      return;
    }
    jobs.querySelector('.empty')?.remove();
    const seen = new Set<string>();
    for (const j of c.jobs) {
      seen.add(j.name);
      let row = jobs.querySelector<HTMLElement>(`.job[data-job="${CSS.escape(j.name)}"]`);
      if (!row) {
        row = el('div', { class: 'job', 'data-job': j.name });
        row.append(el('div', { class: 'job-name' }, j.name), el('div', { class: 'bar' }), el('div', { class: 'job-status' }), el('div', { class: 'job-detail' }));
        row.querySelector('.bar')!.append(el('div', { class: 'fill' }));
        jobs.append(row);
      }
      row.dataset.status = j.status;
      const f = jobFraction(j.status, j.progress);
      (row.querySelector('.fill') as HTMLElement).style.width = `${(f * 100).toFixed(1)}%`;
      row.classList.toggle('waiting', f === 0 && (j.status === 'training' || j.status === 'calibrating' || j.status === 'evaluating'));
      setText(row.querySelector('.job-status')!, JOB_LABEL[j.status] ?? j.status);
      const p = j.progress;
      const detail =
        j.status === 'failed'
          ? (j.error ?? 'failed')
          : p && (j.status === 'training' || j.status === 'calibrating' || j.status === 'evaluating')
            ? `${p.epochs > 1 ? `epoch ${p.epoch}/${p.epochs} · ` : ''}${p.done}/${p.total}${typeof p.loss === 'number' ? ` · loss ${p.loss.toFixed(3)}` : ''}`
            : j.status === 'done'
              ? 'update received'
              : j.status === 'training' || j.status === 'calibrating' || j.status === 'evaluating'
                ? 'starting…'
                : '';
      setText(row.querySelector('.job-detail')!, detail);
    }
    for (const row of Array.from(jobs.querySelectorAll<HTMLElement>('.job'))) if (!seen.has(row.dataset.job ?? '')) row.remove();
  }

  private hospitals(view: View): void {
    const body = $('hospital-rows');
    $('hospitals-empty').hidden = view.hospitals.length > 0;
    const failures = view.hospitals.reduce((s, h) => s + h.failures, 0);
    setText($('hospitals-sub'), `${view.hospitals.length} hospital${view.hospitals.length === 1 ? '' : 's'}${failures ? ` · ${failures} failure${failures === 1 ? '' : 's'}` : ''}`);
    const seen = new Set<string>();
    for (const h of view.hospitals) {
      seen.add(h.name);
      let row = body.querySelector<HTMLTableRowElement>(`tr[data-hospital="${CSS.escape(h.name)}"]`);
      if (!row) {
        row = el('tr', { 'data-hospital': h.name });
        for (const col of ['name', 'status', 'seen', 'train', 'val', 'test', 'backend', 'rounds', 'loss', 'accuracy', 'failures', 'global', 'fine-tuned', 'alone']) {
          row.append(el('td', { 'data-col': col, class: ['name', 'status', 'seen', 'backend'].includes(col) ? '' : 'num' }));
        }
        body.append(row);
      }
      this.hospitalRow(row, h, view);
    }
    for (const row of Array.from(body.querySelectorAll<HTMLElement>('tr'))) if (!seen.has(row.dataset.hospital ?? '')) row.remove();
  }

  private hospitalRow(row: HTMLTableRowElement, h: HospitalView, view: View): void {
    const cell = (col: string) => row.querySelector(`td[data-col="${col}"]`)!;
    setText(cell('name'), h.name);
    const job = view.current?.jobs.find((j) => j.name === h.name);
    const status = view.source === 'stored' ? 'finished' : !h.connected ? 'offline' : job && (job.status === 'training' || job.status === 'calibrating' || job.status === 'evaluating') ? job.status : 'connected';
    row.dataset.state = status;
    const badge = cell('status');
    if (badge.getAttribute('data-status') !== status) {
      badge.setAttribute('data-status', status);
      badge.replaceChildren(el('span', { class: `badge badge-${status}` }, status[0].toUpperCase() + status.slice(1)));
    }
    const count = (n: number | null | undefined) => (typeof n === 'number' ? n.toLocaleString() : '—');
    setText(cell('train'), count(h.examples?.train));
    setText(cell('val'), count(h.examples?.val));
    setText(cell('test'), count(h.examples?.test));
    setText(cell('backend'), h.backend ?? '—');
    setText(cell('rounds'), String(h.roundsContributed));
    setText(cell('loss'), formatNumber(h.lastLoss));
    setText(cell('accuracy'), formatPercent(h.lastAccuracy));
    setText(cell('failures'), String(h.failures));
    cell('failures').classList.toggle('warn', h.failures > 0);
    setText(cell('global'), formatPercent(h.personal?.global));
    setText(cell('fine-tuned'), formatPercent(h.personal?.fineTuned));
    setText(cell('alone'), formatPercent(h.personal?.alone));
    row.dataset.rounds = String(h.roundsContributed);
  }

  private rounds(view: View): void {
    const rows = roundRows(view.history);
    $('rounds-empty').hidden = rows.length > 0;
    const key = JSON.stringify(rows);
    const body = $('round-rows');
    if (body.dataset.key === key) return;
    body.dataset.key = key;
    body.replaceChildren(
      ...rows.map((r) => {
        const tr = el('tr', { 'data-round': String(r.round) });
        const failed = [...r.failed, ...(r.evaluation ? [`evaluation: ${r.evaluation}`] : [])];
        tr.append(
          el('td', { class: 'num' }, String(r.round)),
          el('td', { 'data-col': 'used' }, r.used.join(', ') || '—'),
          el('td', { 'data-col': 'discarded', class: r.discarded.length ? 'warn' : '' }, r.discarded.join(', ') || '—'),
          el('td', { 'data-col': 'refused', class: r.refused.length ? 'warn' : '' }, r.refused.join('; ') || '—'),
          el('td', { 'data-col': 'failed', class: failed.length ? 'warn' : '' }, failed.join('; ') || '—'),
        );
        return tr;
      }),
    );
  }

  private confusion(view: View): void {
    const box = $('confusion');
    const cm = view.confusion;
    const round = view.history.filter((h) => h.metrics).reduce((m, r) => Math.max(m, r.round), 0);
    setText($('confusion-sub'), cm ? `pooled test split${round ? `, round ${round}` : ''} · rows true, columns predicted` : '');
    const key = JSON.stringify(cm) + view.source;
    if (key === this.confusionKey) return;
    this.confusionKey = key;
    if (!cm) {
      box.replaceChildren(el('p', { class: 'empty' }, view.source === 'stored' ? 'The store keeps no confusion matrix for a finished run; see the run folder’s report.md.' : 'Shown after the first evaluation.'));
      return;
    }
    const table = el('table', { class: cm.classes.length > 4 ? 'confusion upright' : 'confusion' });
    const head = el('tr');
    head.append(el('th', { class: 'corner' }, 'true \\ pred'));
    for (const c of cm.classes) head.append(el('th', { title: c }, c));
    table.append(el('thead'), el('tbody'));
    table.tHead!.append(head);
    cm.matrix.forEach((rowValues, i) => {
      const tr = el('tr');
      tr.append(el('th', { title: cm.classes[i] }, cm.classes[i]));
      const total = rowValues.reduce((a, b) => a + b, 0);
      rowValues.forEach((v, j) => {
        const share = total ? v / total : 0;
        const td = el('td', { title: `${cm.classes[i]} → ${cm.classes[j]}: ${v} of ${total}` });
        const alpha = (0.08 + share * 0.85).toFixed(2);
        td.style.background = i === j ? `rgba(42, 157, 143, ${alpha})` : v ? `rgba(200, 85, 61, ${(share * 0.8).toFixed(2)})` : 'transparent';
        if (share > 0.55) td.classList.add('strong');
        td.append(el('div', { class: 'cm-count' }, String(v)), el('div', { class: 'cm-share' }, total ? `${Math.round(share * 100)}%` : ''));
        tr.append(td);
      });
      table.tBodies[0].append(tr);
    });
    box.replaceChildren(table);
  }

  private config(view: View): void {
    const key = JSON.stringify(view.run.config) + view.run.id;
    if (key === this.configKey) return;
    this.configKey = key;
    const dl = $('config');
    const rows = flattenConfig({ rounds: view.run.rounds, ...view.run.config });
    dl.replaceChildren(
      ...rows.flatMap(([k, v]) => {
        const d = el('div', { class: 'config-row' });
        d.append(el('dt', {}, k), el('dd', { title: v }, v));
        return [d];
      }),
    );
  }
}

import type { FitProgress } from './trainer';

/** Where a hospital's training or evaluation stands, with its speed and the time it still needs. */
export interface ProgressReport {
  round: number;
  phase: 'fit' | 'evaluate';
  epoch: number;
  epochs: number;
  /** Images done in this epoch, of `total`. */
  done: number;
  total: number;
  loss?: number;
  /** Images per second since the phase's first report; null until two reports are apart in time. */
  imagesPerSecond: number | null;
  /** Time left at that speed for every epoch of the phase; null while the speed is unknown. */
  etaMs: number | null;
}

/**
 * Turns a hospital's progress events into reports with speed and ETA, and
 * says which of them are worth a log line: the first of each phase, the end
 * of each epoch, and one every `intervalMs` in between (a DenseNet-121 round
 * can last hours; a log without a terminal needs a line now and then, not one
 * per batch).
 */
export class ProgressMeter {
  private phaseKey = '';
  private start = { at: 0, images: 0 };
  private lastLogAt = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  observe(round: number, phase: 'fit' | 'evaluate', p: FitProgress): { report: ProgressReport; due: boolean } {
    const t = this.now();
    const images = Math.max(0, p.epoch - 1) * p.total + p.done;
    const key = `${round}/${phase}`;
    const first = key !== this.phaseKey;
    if (first) {
      this.phaseKey = key;
      this.start = { at: t, images };
    }
    const elapsed = t - this.start.at;
    const imagesPerSecond = elapsed > 0 && images > this.start.images ? ((images - this.start.images) * 1000) / elapsed : null;
    const remaining = Math.max(0, p.epochs * p.total - images);
    const etaMs = imagesPerSecond ? (remaining / imagesPerSecond) * 1000 : remaining === 0 ? 0 : null;
    const due = first || (p.total > 0 && p.done >= p.total) || t - this.lastLogAt >= this.intervalMs;
    if (due) this.lastLogAt = t;
    return { report: { round, phase, epoch: p.epoch, epochs: p.epochs, done: p.done, total: p.total, loss: p.loss, imagesPerSecond, etaMs }, due };
  }
}

import type { ConnectFailure, Delivery, Hospital, ProgressReport } from '@fedxray/hospital';
import { ProgressMeter } from '@fedxray/hospital';
import { Progress, bar, fmt, roughDuration, seconds } from './progress';

export type LogFormat = 'pretty' | 'json';

const PHASE = { fit: 'training', evaluate: 'evaluating' } as const;
const SPLIT = { val: 'validation', test: 'test' } as const;

/** What became of a result, said for the log. */
function delivered(what: string, delivery: Delivery, error: string | undefined): string {
  switch (delivery) {
    case 'accepted':
      return `${what} accepted by the coordinator`;
    case 'refused':
      return `the coordinator refused the ${what}: ${error}`;
    case 'not-sent':
      return `${what} not sent: the connection to the coordinator was lost before it was ready (the coordinator counts this hospital as failed in this round, or redoes the round if it restarted)`;
    case 'unacknowledged':
      return `${what} sent, but ${error?.replace(/^sent, but /, '') ?? 'not acknowledged'}`;
  }
}

/** One progress report as a log line. */
export function progressLine(r: ProgressReport): string {
  const speed = r.imagesPerSecond === null ? '' : `, ${r.imagesPerSecond.toFixed(r.imagesPerSecond < 10 ? 2 : 1)} images/s`;
  const eta = r.etaMs ? `, about ${roughDuration(r.etaMs)} left` : '';
  const epoch = r.epochs > 1 ? `epoch ${r.epoch}/${r.epochs}, ` : '';
  return `Round ${r.round} ${PHASE[r.phase]}: ${epoch}${r.done}/${r.total} images${r.loss !== undefined ? `, loss ${fmt(r.loss)}` : ''}${speed}${eta}`;
}

function connectFailureLines(f: ConnectFailure, url: string): string[] {
  const head = f.attempts > 1 && f.failingForMs > 0 ? `Still cannot reach the coordinator at ${url} (for ${roughDuration(f.failingForMs)}, ${f.attempts} attempts)` : `Cannot reach the coordinator at ${url}`;
  const giveUp = f.giveUpInMs !== undefined ? ` Giving up in ${roughDuration(f.giveUpInMs)} if this does not change.` : '';
  return [`${head}: ${f.cause}`, `  Suggestion: ${f.suggestion}.${giveUp}`];
}

/**
 * The hospital's console: plain lines, or JSON lines with `--log json`. On a
 * terminal, progress is one live line; elsewhere (systemd, docker, nohup) a
 * progress line is written at each phase start, each epoch end and every
 * `progressEveryMs`.
 */
export class HospitalLog {
  private readonly live: Progress;
  private readonly meter: ProgressMeter;

  constructor(
    private readonly format: LogFormat,
    progressEveryMs: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.live = new Progress(out);
    this.meter = new ProgressMeter(progressEveryMs);
  }

  /** A line for people, and the same event with its fields for machines. */
  info(msg: string, text: string, fields: Record<string, unknown> = {}, level: 'info' | 'warn' | 'error' = 'info'): void {
    if (this.format === 'json') this.out.write(`${JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields })}\n`);
    else this.live.line(text);
  }

  attach(h: Hospital, url: string): void {
    h.on('connected', () => this.info('connected', `Connected to ${url}`, { url }));
    h.on('welcome', (w) => this.info('joined', `Joined run ${w.runId} as ${w.hospitalName}`, { runId: w.runId, hospital: w.hospitalName }));
    h.on('connectFailed', (f) => this.info('cannot connect', connectFailureLines(f, url).join('\n'), { url, ...f }, 'warn'));
    h.on('disconnected', (d) => this.info('disconnected', `Lost the connection to the coordinator: ${d.explanation}; reconnecting`, { ...d }, 'warn'));
    // A fatal refusal ends the command with its message; JSON readers also get it as an event.
    h.on('refused', (r) => this.format === 'json' && this.info('refused', r.message, r, 'error'));
    h.on('progress', ({ round, phase, progress }) => {
      const { report, due } = this.meter.observe(round, phase, progress);
      if (this.format === 'pretty' && this.live.tty) {
        this.live.update(`${progressLine(report)} ${bar((report.epoch - 1) * report.total + report.done, report.epochs * report.total)}`);
      } else if (due) {
        const { etaMs, ...fields } = report;
        this.info('progress', progressLine(report), { ...fields, etaSeconds: etaMs === null ? null : Math.round(etaMs / 1000) });
      }
    });
    h.on('fitDone', (d) =>
      this.info(
        'trained',
        `Round ${d.round}: trained on ${d.examples} images in ${seconds(d.durationMs)}, loss ${fmt(d.loss)}, accuracy ${fmt(d.accuracy)}; ${delivered('update', d.delivery, d.error)}`,
        { round: d.round, examples: d.examples, durationMs: d.durationMs, loss: d.loss, accuracy: d.accuracy, delivery: d.delivery, error: d.error },
        d.delivery === 'accepted' ? 'info' : 'warn',
      ),
    );
    h.on('evaluateDone', (d) =>
      this.info(
        'evaluated',
        `Round ${d.round}: evaluated the global model on ${d.examples} local ${SPLIT[d.split]} images; ${delivered('summary', d.delivery, d.error)}`,
        { round: d.round, split: d.split, examples: d.examples, durationMs: d.durationMs, delivery: d.delivery, error: d.error },
        d.delivery === 'accepted' ? 'info' : 'warn',
      ),
    );
    h.on('error', (err) => this.info('error', `Error: ${err.message}`, { message: err.message }, 'error'));
  }
}

/** Console output for long work: live lines on a terminal, plain lines in logs. */
export class Progress {
  private live = false;
  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  get tty(): boolean {
    return !!this.out.isTTY;
  }

  /** Replaces the current live line (terminal only). */
  update(text: string): void {
    if (!this.tty) return;
    const width = this.out.columns || 100;
    this.out.write(`\r\x1b[2K${text.length > width - 1 ? text.slice(0, width - 1) : text}`);
    this.live = true;
  }

  /** Prints a permanent line. */
  line(text: string): void {
    if (this.live) this.out.write('\r\x1b[2K');
    this.live = false;
    this.out.write(`${text}\n`);
  }

  done(): void {
    if (this.live) this.out.write('\r\x1b[2K');
    this.live = false;
  }
}

export function bar(done: number, total: number, width = 20): string {
  const f = total > 0 ? Math.min(1, done / total) : 0;
  const n = Math.round(f * width);
  return `${'█'.repeat(n)}${'░'.repeat(width - n)}`;
}

export function fmt(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

export function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A duration to the nearest useful unit: "42 s", "5 min", "1 h 2 min". */
export function roughDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h${min % 60 ? ` ${min % 60} min` : ''}`;
}

/** A fixed-width text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmtRow = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmtRow(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(fmtRow)].join('\n');
}

// Training progress on stderr: on a terminal one line redrawn in place (step, ETA, each
// loss term, images/s); elsewhere (a log file, CI) a plain line every `plainEvery` steps,
// so logs stay readable instead of filling with carriage returns.

export interface ProgressOptions {
  /** Steps of the whole run (for the bar and the ETA). */
  total: number;
  stream?: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean; columns?: number };
  /** Override the stream's own TTY detection. */
  tty?: boolean;
  /** Without a TTY: print every this many steps (and the last). Default 10. */
  plainEvery?: number;
}

export interface ProgressUpdate {
  step: number;
  epoch: number;
  stage: number;
  /** Loss terms by name, e.g. {"G/adversarial": 0.69, "D/classification": 1.2}. */
  losses: Record<string, number>;
  imagesPerSec: number;
}

/** "1h02m", "3m05s", "12s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

function formatLoss(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toFixed(3);
}

export class ProgressBar {
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly tty: boolean;
  private readonly plainEvery: number;
  private readonly started = Date.now();
  private firstStep: number | null = null;
  private drawn = false;

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.tty = o.tty ?? Boolean(this.stream.isTTY);
    this.plainEvery = Math.max(1, o.plainEvery ?? 10);
  }

  /** The text of one update (without the bar on plain output). */
  line(u: ProgressUpdate, withBar: boolean): string {
    // ETA from this run's own pace: a resumed run starts counting at its first step.
    this.firstStep ??= u.step - 1;
    const done = u.step - this.firstStep;
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = done > 0 ? ((this.o.total - u.step) * elapsed) / done : NaN;
    const losses = Object.entries(u.losses).map(([k, v]) => `${k} ${formatLoss(v)}`).join(' ');
    const pct = this.o.total > 0 ? Math.min(1, u.step / this.o.total) : 0;
    const head = `step ${u.step}/${this.o.total} stage ${u.stage} epoch ${u.epoch + 1}`;
    const tail = `${u.imagesPerSec.toFixed(2)} img/s ETA ${formatDuration(eta)} | ${losses}`;
    if (!withBar) return `${head} ${tail}`;
    const width = 20, filled = Math.round(pct * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${head} ${tail}`;
  }

  update(u: ProgressUpdate): void {
    if (this.tty) {
      let text = this.line(u, true);
      const cols = this.stream.columns;
      if (cols && text.length > cols - 1) text = text.slice(0, cols - 1);
      this.stream.write(`\r\x1b[2K${text}`);
      this.drawn = true;
    } else if (u.step % this.plainEvery === 0 || u.step === this.o.total) {
      this.stream.write(`${this.line(u, false)}\n`);
    }
  }

  /** A message that must not be overwritten by the bar (warnings, checkpoints). */
  note(message: string): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(`${message}\n`);
    this.drawn = false;
  }

  finish(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

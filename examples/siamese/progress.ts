// Training progress: a redrawn bar with step, loss, pairs/s and ETA on a terminal, and plain
// lines (every few steps) when the output is a file or a pipe, as in CI.

export class Progress {
  private readonly started = Date.now();
  private lastLine = 0;

  constructor(readonly total: number, private readonly out: NodeJS.WriteStream = process.stdout) {}

  update(step: number, loss: number, pairsPerSecond: number, extra = ''): void {
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = step > 0 ? (elapsed / step) * (this.total - step) : 0;
    const text = `step ${String(step).padStart(String(this.total).length)}/${this.total}  loss ${loss.toFixed(4)}  ` +
      `${pairsPerSecond.toFixed(1)} pairs/s  ETA ${formatSeconds(eta)}${extra ? `  ${extra}` : ''}`;
    if (this.out.isTTY) {
      const width = 24;
      const filled = Math.round((width * step) / this.total);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
      if (step === this.total) this.out.write('\n');
    } else if (step === this.total || step === 1 || Date.now() - this.lastLine > 5000) {
      this.lastLine = Date.now();
      this.out.write(`${text}\n`);
    }
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)}s`;
}

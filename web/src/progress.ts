// Generation progress: counts, rates, ETA and the failure-reason breakdown.
import { prepareCanvas } from './plot.ts';

export interface MethodStats {
  attempts: number;
  successes: number;
  failures: Map<string, number>;
}

export function emptyStats(): MethodStats {
  return { attempts: 0, successes: 0, failures: new Map() };
}

export function record(stats: MethodStats, success: boolean, failure: string): void {
  stats.attempts++;
  if (success) stats.successes++;
  else stats.failures.set(failure || 'unknown', (stats.failures.get(failure || 'unknown') ?? 0) + 1);
}

export function rate(stats: MethodStats): number {
  return stats.attempts === 0 ? 0 : stats.successes / stats.attempts;
}

/** Seconds left at the current pace, or null when unknown. */
export function eta(done: number, total: number, elapsedS: number): number | null {
  if (done <= 0 || elapsedS <= 0 || total <= done) return done >= total ? 0 : null;
  return ((total - done) * elapsedS) / done;
}

export function formatSeconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}

/** A bar chart comparing success rates per method (values in [0, 1]). */
export function drawRateChart(canvas: HTMLCanvasElement, bars: { label: string; value: number; colour: string }[]): void {
  const c2 = prepareCanvas(canvas);
  if (!c2) return;
  const { ctx, w, h, dpr } = c2;
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  const rowH = h / Math.max(1, bars.length);
  const left = 78 * dpr;
  const right = w - 44 * dpr;
  bars.forEach((b, i) => {
    const y = i * rowH + rowH * 0.2;
    const bh = rowH * 0.6;
    ctx.fillStyle = '#e8ebf0';
    ctx.fillRect(left, y, right - left, bh);
    ctx.fillStyle = b.colour;
    ctx.fillRect(left, y, (right - left) * Math.max(0, Math.min(1, b.value)), bh);
    ctx.fillStyle = '#1d2430';
    ctx.fillText(b.label, 4 * dpr, y + bh * 0.7);
    ctx.fillText(`${(100 * b.value).toFixed(0)}%`, right + 4 * dpr, y + bh * 0.7);
  });
}

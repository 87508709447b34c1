// Small line plots on a 2D canvas: per axis, the demo against its DMP
// reproduction and the rollout in the current scene.

export interface Series {
  label: string;
  colour: string;
  dash?: number[];
  /** Values per sample. */
  values: ArrayLike<number>;
}

export interface PlotPanel {
  title: string;
  series: Series[];
}

/**
 * Size a canvas's backing store to its CSS box at the device pixel ratio (at most 2) and
 * clear it: the 2D context, the size in device pixels and the ratio, or null without 2D.
 */
export function prepareCanvas(
  canvas: HTMLCanvasElement,
): { ctx: CanvasRenderingContext2D; w: number; h: number; dpr: number } | null {
  const dpr = Math.min(window.devicePixelRatio || 1, 2);
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h, dpr };
}

export function drawPlots(canvas: HTMLCanvasElement, panels: PlotPanel[]): void {
  const c2 = prepareCanvas(canvas);
  if (!c2) return;
  const { ctx, w, h, dpr } = c2;
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  const ph = h / Math.max(1, panels.length);
  panels.forEach((panel, k) => {
    const top = k * ph + 14 * dpr;
    const bottom = (k + 1) * ph - 4 * dpr;
    const left = 34 * dpr;
    const right = w - 6 * dpr;
    let lo = Infinity;
    let hi = -Infinity;
    let n = 0;
    for (const s of panel.series) {
      n = Math.max(n, s.values.length);
      for (let i = 0; i < s.values.length; i++) {
        const v = s.values[i]!;
        if (Number.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    if (!Number.isFinite(lo)) return;
    if (hi - lo < 1e-6) {
      lo -= 0.01;
      hi += 0.01;
    }
    const pad = (hi - lo) * 0.08;
    lo -= pad;
    hi += pad;
    ctx.fillStyle = '#5b6575';
    ctx.fillText(panel.title, left, top - 3 * dpr);
    ctx.fillText(hi.toFixed(2), 2 * dpr, top + 9 * dpr);
    ctx.fillText(lo.toFixed(2), 2 * dpr, bottom);
    ctx.strokeStyle = '#dde1e7';
    ctx.setLineDash([]);
    ctx.strokeRect(left, top, right - left, bottom - top);
    for (const s of panel.series) {
      ctx.strokeStyle = s.colour;
      ctx.lineWidth = 1.5 * dpr;
      ctx.setLineDash((s.dash ?? []).map((d) => d * dpr));
      ctx.beginPath();
      for (let i = 0; i < s.values.length; i++) {
        const x = left + ((right - left) * i) / Math.max(1, n - 1);
        const y = bottom - ((bottom - top) * (s.values[i]! - lo)) / (hi - lo);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      ctx.stroke();
    }
  });
  ctx.setLineDash([]);
}

/** A training run's learning curve. */
export interface Curve {
  /** The run's budget in gradient steps (the x axis ends there). */
  totalSteps: number;
  /** Loss points: their steps, the training loss and the held-out loss (NaN: none). */
  steps: number[];
  train: number[];
  valid: number[];
  /** Validation rollouts: success rate in [0, 1] at their steps, labelled. */
  validation: { steps: number; rate: number; label: string }[];
}

/**
 * Loss against gradient steps on a log scale (left axis, decades labelled), and the
 * success rate of validation rollouts (right axis, 0-100%) as labelled points.
 */
export function drawCurve(canvas: HTMLCanvasElement, c: Curve): void {
  const c2 = prepareCanvas(canvas);
  if (!c2) return;
  const { ctx, w, h, dpr } = c2;
  if (c.steps.length === 0 && c.validation.length === 0) return;
  ctx.font = `${10 * dpr}px system-ui, sans-serif`;
  const left = 38 * dpr;
  const right = w - 30 * dpr;
  const top = 16 * dpr;
  const bottom = h - 18 * dpr;
  const xmax = Math.max(1, c.totalSteps, ...c.steps, ...c.validation.map((v) => v.steps));
  const x = (s: number): number => left + ((right - left) * s) / xmax;
  // Loss axis: whole decades around the finite losses.
  const losses = [...c.train, ...c.valid].filter((v) => Number.isFinite(v) && v > 0);
  let lo = Math.floor(Math.log10(Math.min(...losses, 1)));
  let hi = Math.ceil(Math.log10(Math.max(...losses, 1e-9)));
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [-3, 0];
  if (hi <= lo) hi = lo + 1;
  const y = (v: number): number => bottom - ((bottom - top) * (Math.log10(v) - lo)) / (hi - lo);
  ctx.strokeStyle = '#dde1e7';
  ctx.lineWidth = 1;
  ctx.setLineDash([]);
  ctx.strokeRect(left, top, right - left, bottom - top);
  ctx.fillStyle = '#5b6575';
  ctx.textAlign = 'right';
  for (let d = lo; d <= hi; d++) {
    const yy = y(10 ** d);
    ctx.fillText(`1e${d}`, left - 3 * dpr, yy + 3 * dpr);
    ctx.beginPath();
    ctx.moveTo(left, yy);
    ctx.lineTo(right, yy);
    ctx.stroke();
  }
  ctx.textAlign = 'left';
  ctx.fillText('loss (log) · held-out dashed · validation success ●', left, top - 4 * dpr);
  ctx.textAlign = 'center';
  for (const f of [0, 0.5, 1]) ctx.fillText(f === 0 ? '0' : `${Math.round((xmax * f) / 100) * 100}`, x(xmax * f), bottom + 12 * dpr);
  ctx.textAlign = 'right';
  ctx.fillText('steps', right, bottom + 12 * dpr);
  const line = (values: number[], colour: string, dash: number[]): void => {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5 * dpr;
    ctx.setLineDash(dash.map((d) => d * dpr));
    ctx.beginPath();
    let started = false;
    values.forEach((v, i) => {
      if (!(Number.isFinite(v) && v > 0)) return;
      const px = x(c.steps[i]!);
      const py = y(v);
      if (started) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
      started = true;
    });
    ctx.stroke();
  };
  line(c.train, '#2f6fdf', []);
  line(c.valid, '#d9822b', [4, 3]);
  ctx.setLineDash([]);
  // Success axis on the right.
  const ys = (r: number): number => bottom - (bottom - top) * r;
  ctx.textAlign = 'left';
  ctx.fillStyle = '#2e7d32';
  ctx.fillText('100%', right + 2 * dpr, top + 4 * dpr);
  ctx.fillText('0%', right + 2 * dpr, bottom);
  ctx.strokeStyle = '#2e7d32';
  ctx.lineWidth = 1.5 * dpr;
  ctx.beginPath();
  c.validation.forEach((v, i) => (i === 0 ? ctx.moveTo(x(v.steps), ys(v.rate)) : ctx.lineTo(x(v.steps), ys(v.rate))));
  ctx.stroke();
  ctx.textAlign = 'center';
  for (const v of c.validation) {
    ctx.beginPath();
    ctx.arc(x(v.steps), ys(v.rate), 3 * dpr, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillText(v.label, x(v.steps), ys(v.rate) - 5 * dpr);
  }
}

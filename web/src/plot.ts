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

export function drawPlots(canvas: HTMLCanvasElement, panels: PlotPanel[]): void {
  const dpr = Math.min(window.devicePixelRatio || 1, 2);
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.clearRect(0, 0, w, h);
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

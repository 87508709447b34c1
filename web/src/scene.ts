// The 3D view: a Rust `Viewer` drawing into the canvas, driven by
// requestAnimationFrame (physics runs at its own fixed step inside the core).
import type { Core } from './core.ts';

type Viewer = InstanceType<Core['Viewer']>;

export class SceneView {
  private viewer: Viewer;
  private last = 0;
  private raf = 0;
  private stopped = false;
  private readonly resizeObserver: ResizeObserver;

  constructor(
    core: Core,
    private readonly canvas: HTMLCanvasElement,
    private readonly onFrame: (framesDrawn: number, camera: number[]) => void,
  ) {
    this.fitCanvas();
    this.viewer = new core.Viewer(canvas);
    this.viewer.resize(canvas.width, canvas.height);
    this.resizeObserver = new ResizeObserver(() => {
      this.fitCanvas();
      this.viewer.resize(this.canvas.width, this.canvas.height);
    });
    this.resizeObserver.observe(canvas);
    this.bindPointer();
    this.raf = requestAnimationFrame(this.tick);
  }

  private fitCanvas(): void {
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
  }

  private tick = (now: number): void => {
    if (this.stopped) return;
    const dt = this.last === 0 ? 0 : (now - this.last) / 1000;
    this.last = now;
    this.viewer.frame(dt);
    this.onFrame(this.viewer.frames_drawn(), this.cameraState());
    this.raf = requestAnimationFrame(this.tick);
  };

  private bindPointer(): void {
    let dragging: { x: number; y: number; pan: boolean } | null = null;
    this.canvas.addEventListener('contextmenu', (e) => e.preventDefault());
    this.canvas.addEventListener('pointerdown', (e) => {
      this.canvas.setPointerCapture(e.pointerId);
      dragging = { x: e.clientX, y: e.clientY, pan: e.button === 2 || e.shiftKey };
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!dragging || this.stopped) return;
      const dx = e.clientX - dragging.x;
      const dy = e.clientY - dragging.y;
      dragging.x = e.clientX;
      dragging.y = e.clientY;
      if (dragging.pan) this.viewer.pan(dx, dy);
      else this.viewer.orbit(dx, dy);
    });
    const end = (): void => {
      dragging = null;
    };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
    this.canvas.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        if (!this.stopped) this.viewer.zoom(e.deltaY);
      },
      { passive: false },
    );
  }

  reset(seed: number): void {
    if (!this.stopped) this.viewer.reset(seed);
  }

  cameraState(): number[] {
    return Array.from(this.viewer.camera_state());
  }

  /** Stop drawing (after a crash the core must not be called again). */
  stop(): void {
    this.stopped = true;
    cancelAnimationFrame(this.raf);
    this.resizeObserver.disconnect();
  }
}

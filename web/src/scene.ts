// The 3D view: the core's `Playground` drawing into the canvas, driven by
// requestAnimationFrame. Physics and replay advance at their own fixed rates
// inside the core; the frame rate only decides how often we look.
//
// Pointer: dragging an object moves it on the table (Alt-drag or the wheel
// over it rotates it about the vertical); dragging elsewhere orbits
// (right/Shift: pans); the wheel elsewhere zooms.
import type { Core } from './core.ts';

export type Playground = InstanceType<Core['Playground']>;

export interface SceneEvents {
  onFrame(framesDrawn: number, camera: number[]): void;
  /** An object was moved or rotated by the user. */
  onObjectMoved?(index: number): void;
}

/** Frames in a row without a draw before the view polls at a low rate. */
const IDLE_TICKS = 30;
/** Poll interval while idle: a change shows within this time, then frames run again. */
const IDLE_POLL_MS = 50;

function yawOf(q: ArrayLike<number>, at: number): number {
  const [x, y, z, w] = [q[at + 3]!, q[at + 4]!, q[at + 5]!, q[at + 6]!];
  return Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
}

export class SceneView {
  readonly playground: Playground;
  private last = 0;
  private raf = 0;
  private timer = 0;
  private idleTicks = 0;
  private stopped = false;
  private readonly resizeObserver: ResizeObserver;
  /** Called before each frame with the wall time step (seconds). */
  beforeFrame: ((dt: number) => void) | null = null;

  constructor(
    core: Core,
    private readonly canvas: HTMLCanvasElement,
    taskId: string,
    private readonly events: SceneEvents,
  ) {
    this.fitCanvas();
    this.playground = new core.Playground(canvas, taskId);
    this.playground.resize(canvas.width, canvas.height);
    this.resizeObserver = new ResizeObserver(() => {
      if (this.stopped) return;
      this.fitCanvas();
      this.playground.resize(this.canvas.width, this.canvas.height);
      this.wake();
    });
    this.resizeObserver.observe(canvas);
    this.bindPointer();
    this.raf = requestAnimationFrame(this.tick);
  }

  private fitCanvas(): void {
    const dpr = this.dpr();
    const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
  }

  private dpr(): number {
    return Math.min(window.devicePixelRatio || 1, 2);
  }

  private tick = (now: number): void => {
    this.raf = 0;
    if (this.stopped) return;
    const dt = this.last === 0 ? 0 : (now - this.last) / 1000;
    this.last = now;
    this.beforeFrame?.(dt);
    if (this.stopped) return;
    const before = this.playground.frames_drawn();
    this.playground.frame(dt);
    const drawn = this.playground.frames_drawn();
    if (drawn !== before) this.drawCameraViews();
    this.events.onFrame(drawn, this.cameraState());
    this.idleTicks = drawn === before ? this.idleTicks + 1 : 0;
    if (this.idleTicks < IDLE_TICKS) this.raf = requestAnimationFrame(this.tick);
    // Nothing changed for a while: look again at a low rate instead of asking the
    // browser for a new frame 60 times a second (which costs a core's fifth under
    // software compositing, time the generation workers need).
    else this.timer = window.setTimeout(this.poll, IDLE_POLL_MS);
  };

  private poll = (): void => {
    this.timer = 0;
    this.tick(performance.now());
  };

  /** The robot's cameras (the images a dataset records), in the panels beside the scene. */
  private drawCameraViews(): void {
    for (const canvas of document.querySelectorAll<HTMLCanvasElement>('canvas[data-camera]')) {
      const ctx = canvas.getContext('2d');
      if (!ctx || canvas.offsetParent === null) continue;
      try {
        const rgba = this.playground.camera_view(canvas.dataset.camera ?? '', canvas.width, canvas.height);
        ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), canvas.width, canvas.height), 0, 0);
      } catch {
        // A camera that cannot be drawn (no such camera) leaves its panel as it was.
      }
    }
  }

  /** Back to drawing every frame (pointer input, or anything that changes the scene). */
  wake(): void {
    this.idleTicks = 0;
    if (this.stopped || this.raf !== 0) return;
    window.clearTimeout(this.timer);
    this.timer = 0;
    this.raf = requestAnimationFrame(this.tick);
  }

  /** Canvas device-pixel coordinates of a pointer event. */
  private pixel(e: { clientX: number; clientY: number }): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    const dpr = this.canvas.width / Math.max(1, r.width);
    return [(e.clientX - r.left) * dpr, (e.clientY - r.top) * (this.canvas.height / Math.max(1, r.height))];
  }

  /** Move object `index` so that it sits under the canvas point (device pixels). */
  moveObjectToPixel(index: number, px: number, py: number): boolean {
    const poses = this.playground.object_poses();
    const z = poses[7 * index + 2];
    if (z === undefined) return false;
    const hit = this.playground.table_point(px, py, z);
    if (hit.length !== 2) return false;
    this.playground.move_object(index, hit[0]!, hit[1]!, yawOf(poses, 7 * index));
    return true;
  }

  /** Rotate object `index` about the vertical by `dyaw` radians. */
  rotateObject(index: number, dyaw: number): void {
    const poses = this.playground.object_poses();
    const x = poses[7 * index];
    const y = poses[7 * index + 1];
    if (x === undefined || y === undefined) return;
    this.playground.move_object(index, x, y, yawOf(poses, 7 * index) + dyaw);
  }

  private bindPointer(): void {
    // 'handle': the target handle of a recording (horizontal drag; Shift drags vertically).
    type Drag = { x: number; y: number; kind: 'orbit' | 'pan' | 'move' | 'rotate' | 'handle'; object: number; z: number };
    let drag: Drag | null = null;
    this.canvas.addEventListener('contextmenu', (e) => e.preventDefault());
    for (const type of ['pointerdown', 'pointermove', 'wheel'] as const) this.canvas.addEventListener(type, () => this.wake(), { passive: true });
    this.canvas.addEventListener('pointerdown', (e) => {
      if (this.stopped) return;
      this.canvas.setPointerCapture(e.pointerId);
      const [px, py] = this.pixel(e);
      if (e.button === 0 && this.playground.record_handle_at(px, py)) {
        const z = this.playground.record_target()[2] ?? 0;
        drag = { x: e.clientX, y: e.clientY, kind: 'handle', object: -1, z };
        return;
      }
      const object = e.button === 0 && !this.playground.recording() ? this.playground.pick(px, py) : -1;
      let kind: Drag['kind'] = e.button === 2 || e.shiftKey ? 'pan' : 'orbit';
      if (object >= 0) kind = e.altKey ? 'rotate' : 'move';
      drag = { x: e.clientX, y: e.clientY, kind, object, z: 0 };
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!drag || this.stopped) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      drag.x = e.clientX;
      drag.y = e.clientY;
      try {
        if (drag.kind === 'handle') {
          const [px, py] = this.pixel(e);
          const t = Array.from(this.playground.record_target());
          if (e.shiftKey) {
            // Vertical: 2 mm per CSS pixel, up when the pointer goes up.
            drag.z -= dy * 0.002;
            this.playground.record_drag(t[0] ?? 0, t[1] ?? 0, drag.z);
          } else {
            const hit = this.playground.table_point(px, py, drag.z);
            if (hit.length === 2) this.playground.record_drag(hit[0]!, hit[1]!, drag.z);
          }
        } else if (drag.kind === 'pan') this.playground.pan(dx, dy);
        else if (drag.kind === 'orbit') this.playground.orbit(dx, dy);
        else if (drag.kind === 'rotate') {
          this.rotateObject(drag.object, dx * 0.02);
          this.events.onObjectMoved?.(drag.object);
        } else {
          const [px, py] = this.pixel(e);
          if (this.moveObjectToPixel(drag.object, px, py)) this.events.onObjectMoved?.(drag.object);
        }
      } catch {
        // A refused move (e.g. off the table) leaves the object where it was.
      }
    });
    const end = (): void => {
      if (drag?.kind === 'handle') this.playground.record_drag_end();
      drag = null;
    };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
    this.canvas.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        if (this.stopped) return;
        const [px, py] = this.pixel(e);
        const object = this.playground.pick(px, py);
        if (object >= 0 && !e.ctrlKey) {
          this.rotateObject(object, Math.sign(e.deltaY) * 0.1);
          this.events.onObjectMoved?.(object);
        } else this.playground.zoom(e.deltaY);
      },
      { passive: false },
    );
  }

  cameraState(): number[] {
    return Array.from(this.playground.camera_state());
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Stop drawing (after a crash the core must not be called again). */
  stop(): void {
    this.stopped = true;
    cancelAnimationFrame(this.raf);
    window.clearTimeout(this.timer);
    this.resizeObserver.disconnect();
  }
}

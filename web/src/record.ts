// Recording a demo by teleoperation in the physics scene (the core's record::Teleop).
//
// While a recording runs, held keys drive the gripper's target: W/S or Up/Down move it
// along x (away from / towards the robot), A/D or Left/Right along y, R/F up and down,
// Q/E turn it about the vertical; Space closes or opens the gripper; Shift moves faster.
// The target is also drawn as a handle (a small frame) that the mouse can drag: across
// the table at its height, or up and down with Shift held; the hand follows at a
// bounded speed.
// The core steps the physics at the control rate in real time. "Stop recording" turns
// the recording into the current demo (segmented like any upload); it can then be
// downloaded in the project's JSON demo format.
import { showError } from './banner.ts';
import { download } from './download.ts';
import type { DemoPanel } from './demo.ts';
import type { Playground } from './scene.ts';
import { renderStatus, status } from './status.ts';

/** Translation speed (m/s) without and with Shift. */
const SPEED = [0.1, 0.25] as const;
/** Yaw rate (rad/s) without and with Shift. */
const YAW_RATE = [0.8, 1.6] as const;

/** Key code -> [axis (0 x, 1 y, 2 z, 3 yaw), direction]. */
const MOTION: Record<string, [number, number]> = {
  KeyW: [0, 1],
  ArrowUp: [0, 1],
  KeyS: [0, -1],
  ArrowDown: [0, -1],
  KeyA: [1, 1],
  ArrowLeft: [1, 1],
  KeyD: [1, -1],
  ArrowRight: [1, -1],
  KeyR: [2, 1],
  KeyF: [2, -1],
  KeyQ: [3, 1],
  KeyE: [3, -1],
};

const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class RecordPanel {
  private readonly held = new Set<string>();
  private shift = false;
  private gripperClosed = false;
  private readonly button = el<HTMLButtonElement>('record');
  private readonly info = el('record-info');
  /** The JSON of the last recording that became the demo (for "Download recording"). */
  private lastJson: string | null = null;

  constructor(
    private readonly pg: Playground,
    private readonly demo: DemoPanel,
  ) {
    this.button.addEventListener('click', () => (this.active ? this.stop() : this.start()));
    el('download-recording').addEventListener('click', () => {
      if (this.lastJson) download(this.lastJson, `recording_${this.pg.task_id()}.json`, 'application/json');
    });
    // Capture phase on window: runs before the page's shortcuts, which a recording mutes.
    window.addEventListener('keydown', (e) => this.onKey(e, true), true);
    window.addEventListener('keyup', (e) => this.onKey(e, false), true);
    window.addEventListener('blur', () => {
      this.held.clear();
      this.shift = false;
      this.push();
    });
  }

  get active(): boolean {
    return this.pg.recording();
  }

  start(): void {
    if (this.active) return;
    try {
      this.pg.start_recording();
    } catch (e) {
      showError('The recording could not start.', errorText(e), 'record-error');
      return;
    }
    document.getElementById('record-error')?.remove();
    this.held.clear();
    this.shift = false;
    this.gripperClosed = false;
    this.push();
    this.button.textContent = 'Stop recording';
    this.info.textContent =
      'Recording: W/S or ↑/↓ move along x, A/D or ←/→ along y, R/F up/down, Q/E turn, Space closes/opens the gripper, Shift is faster. Or drag the target handle with the mouse (Shift+drag: up/down).';
    // Keys go to the page, not to the button that was clicked.
    this.button.blur();
    status.recording = true;
    renderStatus();
  }

  stop(): void {
    if (!this.active) return;
    let json: string;
    try {
      json = this.pg.finish_recording();
    } catch (e) {
      this.ended();
      showError('The recording cannot be used as a demo; the previous demo stays loaded.', errorText(e), 'record-error');
      this.demo.refresh();
      return;
    }
    this.ended();
    const name = `recording_${this.pg.task_id()}.json`;
    void this.demo.loadFile(new TextEncoder().encode(json), name).then((loaded) => {
      if (!loaded) return;
      this.lastJson = json;
      el<HTMLButtonElement>('download-recording').disabled = false;
      this.info.textContent = `The recording is the current demo (${name}).`;
    });
  }

  /** Called every frame: a recording the core ended by itself (too long, physics) is stopped. */
  tick(): void {
    if (!this.active) {
      // Another view (replay, preview, task switch) replaced the recording.
      if (status.recording) this.ended();
      return;
    }
    status.recordSamples = this.pg.record_samples();
    const error = this.pg.record_error();
    if (error) {
      this.ended();
      try {
        this.pg.finish_recording();
      } catch {
        // The error below says why.
      }
      showError('The recording stopped.', error, 'record-error');
      this.demo.refresh();
    }
  }

  private ended(): void {
    this.held.clear();
    this.button.textContent = 'Record demo';
    this.info.textContent = '';
    status.recording = false;
    status.recordSamples = 0;
    renderStatus();
  }

  /** Key handling shared by real key events and the test hook. Returns whether it was used. */
  key(code: string, down: boolean, repeat = false): boolean {
    if (!this.active) return false;
    if (code === 'ShiftLeft' || code === 'ShiftRight') this.shift = down;
    else if (code === 'Space') {
      if (down && !repeat) this.gripperClosed = !this.gripperClosed;
    } else if (code in MOTION) {
      if (down) this.held.add(code);
      else this.held.delete(code);
    } else return false;
    this.push();
    return true;
  }

  private onKey(e: KeyboardEvent, down: boolean): void {
    if (!this.active) return;
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) return;
    if (e.code === 'Tab') return;
    this.key(e.code, down, e.repeat);
    // While recording, keys drive the robot only: no page shortcut fires.
    e.preventDefault();
    e.stopImmediatePropagation();
  }

  /** Send the held keys to the core as velocities. */
  private push(): void {
    const v = [0, 0, 0, 0];
    for (const code of this.held) {
      const [axis, dir] = MOTION[code]!;
      v[axis] = (v[axis] ?? 0) + dir;
    }
    const fast = this.shift ? 1 : 0;
    const s = SPEED[fast];
    const w = YAW_RATE[fast];
    this.pg.record_input(v[0]! * s, v[1]! * s, v[2]! * s, v[3]! * w, this.gripperClosed);
    status.recordGripperClosed = this.gripperClosed;
  }
}

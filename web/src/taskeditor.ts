// The task editor: edits the current task's file (JSON, docs/tasks.md) and loads the
// result as a new task. Objects are placed by dragging them in the scene; "Apply" resets
// each movable object around where it stands, with the chosen spread, and takes the
// chosen object's mass and friction. The core checks the file (every problem names its
// field) and records the task's scripted demo; on error nothing changes.

import type { Playground } from './scene.ts';
import type { DemoPanel } from './demo.ts';
import { showError } from './banner.ts';

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing element #${id}`);
  return e as T;
}

type Json = Record<string, unknown>;
interface ObjectJson extends Json {
  name: string;
  mass: number;
  friction: number;
  fixed?: boolean;
  joint?: unknown;
}
interface ResetJson extends Json {
  x: [number, number];
  y: [number, number];
  yaw: [number, number];
  z: number;
}

export class TaskEditor {
  private task: Json & { id: string; objects: ObjectJson[]; reset: ResetJson[] } = { id: '', objects: [], reset: [] };
  private readonly object = el<HTMLSelectElement>('te-object');

  constructor(
    private readonly pg: Playground,
    private readonly demo: DemoPanel,
  ) {
    el('task-editor').addEventListener('toggle', () => this.refresh());
    this.object.addEventListener('change', () => this.showObject());
    el('te-mass').addEventListener('change', () => this.storeObject());
    el('te-friction').addEventListener('change', () => this.storeObject());
    el('te-apply').addEventListener('click', () => this.apply());
    el('te-download').addEventListener('click', () => this.download());
  }

  /** Read the current task (called when the editor opens and after a task change). */
  refresh(): void {
    this.task = JSON.parse(this.pg.task_json());
    const id = this.task.id;
    el<HTMLInputElement>('te-id').value = id.endsWith('_edited') ? id : `${id}_edited`.slice(0, 64);
    this.object.replaceChildren(
      ...this.task.objects.map((o, i) => {
        const opt = document.createElement('option');
        opt.value = String(i);
        opt.textContent = o.name;
        return opt;
      }),
    );
    this.showObject();
  }

  private current(): ObjectJson | undefined {
    return this.task.objects[Number(this.object.value)];
  }

  private showObject(): void {
    const o = this.current();
    if (!o) return;
    el<HTMLInputElement>('te-mass').value = String(o.mass);
    el<HTMLInputElement>('te-friction').value = String(o.friction);
  }

  private storeObject(): void {
    const o = this.current();
    if (!o) return;
    o.mass = Number(el<HTMLInputElement>('te-mass').value);
    o.friction = Number(el<HTMLInputElement>('te-friction').value);
  }

  /** The edited task file's JSON. */
  edited(): string {
    this.storeObject();
    const t = JSON.parse(JSON.stringify(this.task)) as typeof this.task;
    t.id = el<HTMLInputElement>('te-id').value.trim();
    t.description = `${String(t.description)} (edited)`.slice(0, 2000);
    const spread = Number(el<HTMLInputElement>('te-spread').value) / 100;
    const poses = this.pg.object_poses();
    t.objects.forEach((o, i) => {
      const r = t.reset[i];
      if (!r || o.joint || o.fixed) return;
      const [x, y] = [poses[7 * i]!, poses[7 * i + 1]!];
      const round = (v: number): number => Math.round(v * 1e4) / 1e4;
      r.x = [round(x - spread), round(x + spread)];
      r.y = [round(y - spread), round(y + spread)];
    });
    // Pinned by the scene's positions: the wider levels no longer describe this task.
    delete t.reset_levels;
    return JSON.stringify(t, null, 2);
  }

  /** Load the edited task (on error the current task stays and the message names the field). */
  apply(): boolean {
    let text: string;
    try {
      text = this.edited();
    } catch (e) {
      showError('The edited task could not be written.', e instanceof Error ? e.message : String(e), 'task-error');
      return false;
    }
    const ok = this.demo.loadTask(text, 'The edited task');
    if (ok) this.refresh();
    return ok;
  }

  private download(): void {
    const text = this.edited();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text + '\n'], { type: 'application/json' }));
    a.download = `${el<HTMLInputElement>('te-id').value.trim() || 'task'}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }
}

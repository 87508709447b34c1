// The demo side of the page: the task picker, built-in and uploaded demos
// (file dialog or drag-and-drop; a select for multi-demo HDF5 files), the
// replay scrubber, the segmentation timeline and the DMP plot.
import { showError } from './banner.ts';
import type { Core } from './core.ts';
import { readHdf5Demo } from './extras.ts';
import { verifyLinkDemo } from './link.ts';
import { drawPlots } from './plot.ts';
import type { Playground } from './scene.ts';
import { renderStatus, status } from './status.ts';
import { Timeline, type TimelineEdit } from './timeline.ts';

/** The demo the page currently uses: a file's bytes, or the task's built-in demo. */
export interface DemoSource {
  bytes: Uint8Array | null;
  name: string;
  index: number;
  /**
   * An HDF5 file's demo `index` as the on-demand module read it: the page's module has no
   * HDF5 reader, so it loads, previews and generates from this (and hashes `bytes`).
   */
  json: string | null;
}

/** The demo a generation job or a preview needs (the file's bytes are null for a built-in demo). */
export type JobDemo = Pick<DemoSource, 'bytes' | 'name' | 'json'>;

interface SpecJson {
  subtasks: { name: string; object: string; start: number; end: number }[];
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function isHdf5(bytes: Uint8Array): boolean {
  return HDF5_SIGNATURE.every((b, i) => bytes[i] === b);
}

const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class DemoPanel {
  source: DemoSource;
  segmentation: { boundaries: number[]; objects: (string | null)[] } = { boundaries: [], objects: [] };
  dmp = { bases: 100, alpha: 25, goal_filter_alpha: 10, scaling: 'robust' };
  private readonly timeline: Timeline;
  private readonly taskSelect = el<HTMLSelectElement>('task-select');
  private readonly scrub = el<HTMLInputElement>('replay-scrub');
  private readonly play = el<HTMLButtonElement>('replay-play');
  private pendingHdf5: { bytes: Uint8Array; name: string } | null = null;
  /** Counts demo loads, so that of two overlapping loads the later one wins. */
  private loads = 0;
  private linkDemo: { sha256: string; name: string; index: number; onLoaded: () => void } | null = null;
  /** Called after the demo, task or segmentation changed. */
  onChange: (() => void) | null = null;
  /** The loaded task file's JSON when the task is not a built-in one (links carry it). */
  customTask: string | null = null;

  constructor(
    private readonly core: Core,
    private readonly pg: Playground,
  ) {
    this.source = { bytes: null, name: `${pg.task_id()} (built-in)`, index: 0, json: null };
    for (const id of core.task_ids()) {
      const opt = document.createElement('option');
      opt.value = id;
      opt.textContent = id;
      this.taskSelect.append(opt);
    }
    this.taskSelect.value = pg.task_id();
    this.taskSelect.addEventListener('change', () => this.setTask(this.taskSelect.value));
    const taskFile = el<HTMLInputElement>('task-file');
    el('load-task').addEventListener('click', () => taskFile.click());
    taskFile.addEventListener('change', () => {
      const f = taskFile.files?.[0];
      if (f) void this.uploadTask(f);
      taskFile.value = '';
    });

    this.timeline = new Timeline(el('timeline'), {
      onEdit: (edit) => this.applyEdit(edit),
      onReset: () => this.resetSegmentation(),
      onScrub: (s) => this.showSample(s),
    });

    const file = el<HTMLInputElement>('demo-file');
    el('upload-demo').addEventListener('click', () => file.click());
    file.addEventListener('change', () => {
      const f = file.files?.[0];
      if (f) void this.upload(f);
      file.value = '';
    });
    el<HTMLSelectElement>('hdf5-demo').addEventListener('change', (e) => {
      const p = this.pendingHdf5;
      if (p) void this.loadFile(p.bytes, p.name, Number((e.target as HTMLSelectElement).value));
    });
    document.addEventListener('dragover', (e) => {
      if (!e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      document.body.classList.add('dragging-file');
    });
    document.addEventListener('dragleave', () => document.body.classList.remove('dragging-file'));
    document.addEventListener('drop', (e) => {
      document.body.classList.remove('dragging-file');
      const f = e.dataTransfer?.files[0];
      if (!f) return;
      e.preventDefault();
      void this.upload(f);
    });

    this.scrub.addEventListener('input', () => this.showSample(Number(this.scrub.value)));
    this.play.addEventListener('click', () => this.togglePlay());
    el('show-scene').addEventListener('click', () => {
      this.pg.show_scene();
      this.timeline.setCursor(-1);
    });
    for (const id of ['dmp-bases', 'dmp-alpha', 'dmp-goal-filter', 'dmp-scaling']) el(id).addEventListener('change', () => this.applyDmp());
    new ResizeObserver(() => this.drawPlot()).observe(el('plot'));
    this.refresh();
  }

  /** The demo bytes workers need (null for a built-in demo). */
  jobDemo(): JobDemo {
    return { bytes: this.source.bytes, name: this.source.name, json: this.source.json };
  }

  /** Keep the scrubber and the timeline cursor in step with the replay (called every frame). */
  tick(): void {
    const s = this.pg.replay_sample();
    if (s >= 0 && String(s) !== this.scrub.value) {
      this.scrub.value = String(s);
      this.timeline.setCursor(s);
      this.label(s);
    }
    const playing = this.pg.replay_playing();
    const text = playing ? 'Pause demo' : 'Play demo';
    if (this.play.textContent !== text) {
      this.play.textContent = text;
      this.play.setAttribute('aria-label', text);
    }
  }

  togglePlay(): void {
    this.pg.play_replay(!this.pg.replay_playing());
  }

  private label(s: number): void {
    const n = this.pg.demo_len();
    el('replay-label').textContent = `${s + 1} / ${n}`;
  }

  private showSample(s: number): void {
    this.pg.show_replay(s);
    this.scrub.value = String(s);
    this.timeline.setCursor(s);
    this.label(s);
  }

  setTask(id: string): void {
    try {
      this.pg.set_task(id);
    } catch (e) {
      showError(`Could not switch to task "${id}".`, errorText(e), 'task-error');
      this.taskSelect.value = this.pg.task_id();
      return;
    }
    this.customTask = null;
    this.taskLoaded(id);
  }

  /** Read a task file the user chose (JSON, docs/tasks.md). */
  async uploadTask(file: File): Promise<void> {
    if (file.size > 1 << 20) {
      showError(`"${file.name}" is too large to be a task file (at most 1 MiB); the current task stays.`, '', 'task-error');
      return;
    }
    let text: string;
    try {
      text = await file.text();
    } catch (e) {
      showError(`Could not read "${file.name}".`, errorText(e), 'task-error');
      return;
    }
    this.loadTask(text, file.name);
  }

  /**
   * Switch to the task a task file describes, with its built-in demo (its script's for a
   * new task). On error the current task and demo stay. Returns whether it loaded.
   */
  loadTask(json: string, name = 'the task file'): boolean {
    let id: string;
    try {
      id = this.pg.load_task(json);
    } catch (e) {
      showError(`${name} could not be loaded; the current task stays.`, errorText(e), 'task-error');
      return false;
    }
    document.getElementById('task-error')?.remove();
    // A built-in task's own file is that task: links name it by id.
    this.customTask = this.pg.task_is_builtin() ? null : this.pg.task_json();
    if (!Array.from(this.taskSelect.options).some((o) => o.value === id)) {
      const opt = document.createElement('option');
      opt.value = id;
      opt.textContent = `${id} (task file)`;
      this.taskSelect.append(opt);
    }
    this.taskLoaded(id);
    return true;
  }

  private taskLoaded(id: string): void {
    this.taskSelect.value = id;
    this.source = { bytes: null, name: `${id} (built-in)`, index: 0, json: null };
    this.loads++;
    this.segmentation = { boundaries: [], objects: [] };
    this.linkDemo = null;
    document.getElementById('link-demo-prompt')?.remove();
    el('hdf5-choice').hidden = true;
    this.pendingHdf5 = null;
    this.applyDmp(false);
    this.refresh();
  }

  /**
   * A share link names an uploaded demo by SHA-256 without embedding it: the next upload
   * must be that file. `onLoaded` runs once it is loaded (to apply the link's edits).
   */
  expectLinkDemo(sha256: string, name: string, index: number, onLoaded: () => void): void {
    this.linkDemo = { sha256, name, index, onLoaded };
  }

  /** The file a share link is waiting for, if any. */
  get awaitedLinkDemo(): { sha256: string; name: string } | null {
    return this.linkDemo;
  }

  async upload(file: File): Promise<void> {
    // Refuse an oversized file from its size alone, before reading it into memory.
    try {
      this.core.check_demo_size(file.size);
    } catch (e) {
      showError(`"${file.name}" is too large to be a demo; the current demo stays loaded.`, errorText(e), 'demo-error');
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await file.arrayBuffer());
    } catch (e) {
      showError(`Could not read "${file.name}".`, errorText(e), 'demo-error');
      return;
    }
    const awaited = this.linkDemo;
    if (awaited) {
      try {
        verifyLinkDemo(this.core, awaited.sha256, bytes);
      } catch (e) {
        showError(
          `"${file.name}" is not the demo file this link was made with; nothing was loaded.`,
          `${errorText(e)}. Upload the file "${awaited.name}" the link was made with, or pick a task to start over.`,
          'demo-error',
        );
        return;
      }
    }
    if ((await this.loadFile(bytes, file.name, awaited?.index ?? 0)) && awaited) {
      this.linkDemo = null;
      document.getElementById('link-demo-prompt')?.remove();
      awaited.onLoaded();
    }
  }

  /**
   * Load an uploaded demo file (demo `index` of an HDF5 file, read by the on-demand module);
   * false when it was refused or a later load replaced it.
   */
  async loadFile(bytes: Uint8Array, name: string, index = 0): Promise<boolean> {
    const choice = el('hdf5-choice');
    const load = ++this.loads;
    let json: string | null = null;
    if (isHdf5(bytes)) {
      try {
        this.core.check_demo_size(bytes.length);
        el('demo-info').textContent = `Reading ${name}…`;
        const read = await readHdf5Demo(bytes, index);
        if (load !== this.loads) return false;
        const names = read.names;
        el<HTMLSelectElement>('hdf5-demo').replaceChildren(
          ...names.map((n, i) => {
            const o = document.createElement('option');
            o.value = String(i);
            o.textContent = n;
            return o;
          }),
        );
        choice.hidden = names.length < 2;
        if (index >= names.length) throw new Error(`the file has ${names.length} demos; demo ${index} was asked for`);
        el<HTMLSelectElement>('hdf5-demo').value = String(index);
        this.pendingHdf5 = { bytes, name };
        json = read.demo;
      } catch (e) {
        if (load !== this.loads) return false;
        showError(`"${name}" is not a readable demo file; the current demo stays loaded.`, errorText(e), 'demo-error');
        this.refresh();
        return false;
      }
    } else {
      choice.hidden = true;
      this.pendingHdf5 = null;
    }
    return this.load(bytes, name, index, json);
  }

  /** Apply DMP settings (from a share link): the inputs show them. */
  setDmp(dmp: { bases: number; alpha: number; goal_filter_alpha: number; scaling: string }): void {
    this.pg.set_dmp(JSON.stringify(dmp));
    this.dmp = { ...dmp };
    el<HTMLInputElement>('dmp-bases').value = String(dmp.bases);
    el<HTMLInputElement>('dmp-alpha').value = String(dmp.alpha);
    el<HTMLInputElement>('dmp-goal-filter').value = String(dmp.goal_filter_alpha);
    el<HTMLSelectElement>('dmp-scaling').value = dmp.scaling;
    this.drawPlot();
  }

  /** Apply segmentation corrections (from a share link). Throws when the core refuses them. */
  setSegmentation(seg: { boundaries: number[]; objects: (string | null)[] }): void {
    const next = { boundaries: [...seg.boundaries], objects: [...seg.objects] };
    this.pg.set_segmentation(JSON.stringify(next));
    this.segmentation = next;
    this.refresh();
  }

  private load(bytes: Uint8Array, name: string, index: number, json: string | null): boolean {
    try {
      this.pg.load_demo(bytes, name, index, json ?? undefined);
    } catch (e) {
      showError(`"${name}" could not be loaded; the current demo stays loaded.`, errorText(e), 'demo-error');
      return false;
    }
    document.getElementById('demo-error')?.remove();
    this.source = { bytes, name, index, json };
    this.segmentation = { boundaries: [], objects: [] };
    this.taskSelect.value = this.pg.task_id();
    this.applyDmp(false);
    this.refresh();
    return true;
  }

  private applyEdit(edit: TimelineEdit): void {
    const next = { boundaries: edit.boundaries, objects: edit.objects };
    try {
      this.pg.set_segmentation(JSON.stringify(next));
    } catch (e) {
      showError('That segmentation edit was refused.', errorText(e), 'segment-error');
      this.refresh();
      return;
    }
    this.segmentation = next;
    this.refresh();
  }

  resetSegmentation(): void {
    this.pg.set_segmentation('{}');
    this.segmentation = { boundaries: [], objects: [] };
    this.refresh();
  }

  private applyDmp(report = true): void {
    const bases = Number(el<HTMLInputElement>('dmp-bases').value);
    const alpha = Number(el<HTMLInputElement>('dmp-alpha').value);
    const goalFilter = Number(el<HTMLInputElement>('dmp-goal-filter').value);
    const scaling = el<HTMLSelectElement>('dmp-scaling').value;
    const next = { ...this.dmp, bases: Math.round(bases), alpha, goal_filter_alpha: goalFilter, scaling };
    try {
      this.pg.set_dmp(JSON.stringify(next));
      this.dmp = next;
    } catch (e) {
      if (report) showError('Those DMP settings were refused; the previous ones stay.', errorText(e), 'dmp-error');
      el<HTMLInputElement>('dmp-bases').value = String(this.dmp.bases);
      el<HTMLInputElement>('dmp-alpha').value = String(this.dmp.alpha);
      el<HTMLInputElement>('dmp-goal-filter').value = String(this.dmp.goal_filter_alpha);
      el<HTMLSelectElement>('dmp-scaling').value = this.dmp.scaling;
    }
    this.drawPlot();
  }

  /** Redraw everything that depends on the demo and its segmentation. */
  refresh(): void {
    const spec: SpecJson = JSON.parse(this.pg.spec_json());
    const n = this.pg.demo_len();
    this.timeline.set(spec.subtasks, n, Array.from(this.pg.object_names()));
    this.scrub.max = String(Math.max(0, n - 1));
    this.timeline.setCursor(this.pg.replay_sample());
    el('demo-info').textContent = `${this.source.name}: ${n} samples, ${this.pg.demo_duration().toFixed(1)} s, ${spec.subtasks.length} subtasks.`;
    status.taskId = this.pg.task_id();
    status.demoName = this.source.name;
    status.demoSamples = n;
    status.demoIndex = this.source.index;
    status.boundaries = spec.subtasks.slice(1).map((s) => s.start);
    status.subtaskObjects = spec.subtasks.map((s) => s.object);
    this.drawPlot();
    renderStatus();
    this.onChange?.();
  }

  drawPlot(): void {
    let data: Float64Array;
    try {
      data = this.pg.plot_data();
    } catch (e) {
      showError('The DMP reproduction failed.', errorText(e), 'dmp-error');
      return;
    }
    const n = data[0] ?? 0;
    const slice = (k: number): Float64Array => data.subarray(1 + k * n, 1 + (k + 1) * n);
    const trace = this.pg.preview_trace();
    const m = trace[0] ?? 0;
    const rollout = (k: number): Float64Array => trace.subarray(1 + k * m, 1 + (k + 1) * m);
    const axes = ['x', 'y', 'z'];
    drawPlots(
      el('plot'),
      axes.map((a, i) => ({
        title: `end-effector ${a} (m): demo (blue) vs DMP (orange, dashed)${m > 0 ? ' vs preview rollout (green)' : ''}`,
        series: [
          { label: 'demo', colour: '#2f6fd6', values: slice(i) },
          { label: 'DMP', colour: '#e0913a', dash: [5, 3], values: slice(3 + i) },
          ...(m > 0 ? [{ label: 'preview rollout', colour: '#49a35b', values: rollout(i) }] : []),
        ],
      })),
    );
    let sum = 0;
    for (let k = 3; k < 6; k++) for (const v of slice(k)) sum += v;
    status.plotChecksum = sum;
    status.plotVersion++;
  }
}

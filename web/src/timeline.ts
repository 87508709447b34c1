// The segmentation timeline: one coloured bar per subtask under the scene.
// Boundaries between neighbouring subtasks can be dragged (mouse or keyboard);
// each bar's reference object can be changed; "Reset to automatic" drops every edit.

export interface TimelineSubtask {
  name: string;
  object: string;
  start: number;
  end: number;
}

export interface TimelineEdit {
  /** Inner boundaries (start of subtask 1..n-1), strictly increasing. */
  boundaries: number[];
  /** Reference object per subtask. */
  objects: string[];
}

export interface TimelineEvents {
  onEdit(edit: TimelineEdit): void;
  onReset(): void;
  /** The user scrubbed to a sample (clicked the track). */
  onScrub?(sample: number): void;
}

const COLOURS = ['#3b7dd8', '#e0913a', '#49a35b', '#b0579e', '#c94f4f', '#6a6fd1'];

export class Timeline {
  private subtasks: TimelineSubtask[] = [];
  private objects: string[] = [];
  private samples = 1;
  private cursor = -1;
  private readonly track: HTMLDivElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly events: TimelineEvents,
  ) {
    root.classList.add('timeline');
    root.replaceChildren();
    const head = document.createElement('div');
    head.className = 'timeline-head';
    const title = document.createElement('span');
    title.textContent = 'Subtasks';
    const reset = document.createElement('button');
    reset.type = 'button';
    reset.textContent = 'Reset to automatic';
    reset.addEventListener('click', () => this.events.onReset());
    head.append(title, reset);
    this.track = document.createElement('div');
    this.track.className = 'timeline-track';
    this.track.setAttribute('role', 'group');
    this.track.setAttribute('aria-label', 'Segmentation bars');
    this.track.addEventListener('click', (e) => {
      if ((e.target as HTMLElement).closest('.timeline-handle, select')) return;
      const rect = this.track.getBoundingClientRect();
      const s = Math.round(((e.clientX - rect.left) / rect.width) * this.samples);
      this.events.onScrub?.(Math.max(0, Math.min(this.samples - 1, s)));
    });
    root.append(head, this.track);
  }

  /** Show a segmentation of a demo with `samples` samples. */
  set(subtasks: TimelineSubtask[], samples: number, objects: string[]): void {
    this.subtasks = subtasks.map((s) => ({ ...s }));
    this.samples = Math.max(1, samples);
    this.objects = objects;
    this.render();
  }

  setCursor(sample: number): void {
    this.cursor = sample;
    const c = this.track.querySelector<HTMLElement>('.timeline-cursor');
    if (c) c.style.left = `${(100 * sample) / this.samples}%`;
  }

  private emit(): void {
    this.events.onEdit({
      boundaries: this.subtasks.slice(1).map((s) => s.start),
      objects: this.subtasks.map((s) => s.object),
    });
  }

  /** Move boundary `i` (the start of subtask i) to `sample`, keeping every subtask at least 2 samples long. */
  moveBoundary(i: number, sample: number): void {
    const prev = this.subtasks[i - 1];
    const cur = this.subtasks[i];
    if (!prev || !cur) return;
    const s = Math.round(Math.max(prev.start + 2, Math.min(cur.end - 2, sample)));
    if (s === cur.start) return;
    prev.end = s;
    cur.start = s;
    this.render();
    this.emit();
  }

  private render(): void {
    const pct = (v: number): string => `${(100 * v) / this.samples}%`;
    const nodes: HTMLElement[] = [];
    this.subtasks.forEach((s, i) => {
      const bar = document.createElement('div');
      bar.className = 'timeline-bar';
      bar.style.left = pct(s.start);
      bar.style.width = pct(s.end - s.start);
      bar.style.background = COLOURS[i % COLOURS.length]!;
      bar.dataset.index = String(i);
      bar.title = `${s.name}: samples ${s.start}–${s.end - 1}`;
      const label = document.createElement('span');
      label.className = 'timeline-label';
      label.textContent = s.name;
      const select = document.createElement('select');
      select.setAttribute('aria-label', `Reference object of ${s.name}`);
      for (const o of this.objects) {
        const opt = document.createElement('option');
        opt.value = o;
        opt.textContent = o;
        opt.selected = o === s.object;
        select.append(opt);
      }
      select.addEventListener('change', () => {
        s.object = select.value;
        this.emit();
      });
      bar.append(label, select);
      nodes.push(bar);
    });
    for (let i = 1; i < this.subtasks.length; i++) nodes.push(this.handle(i));
    const cursor = document.createElement('div');
    cursor.className = 'timeline-cursor';
    cursor.style.left = pct(Math.max(0, this.cursor));
    cursor.hidden = this.cursor < 0;
    nodes.push(cursor);
    this.track.replaceChildren(...nodes);
  }

  private handle(i: number): HTMLElement {
    const s = this.subtasks[i]!;
    const h = document.createElement('div');
    h.className = 'timeline-handle';
    h.style.left = `${(100 * s.start) / this.samples}%`;
    h.tabIndex = 0;
    h.setAttribute('role', 'slider');
    h.setAttribute('aria-label', `Boundary before ${s.name}`);
    h.setAttribute('aria-valuemin', '0');
    h.setAttribute('aria-valuemax', String(this.samples));
    h.setAttribute('aria-valuenow', String(s.start));
    h.dataset.boundary = String(i);
    h.addEventListener('keydown', (e) => {
      const step = e.shiftKey ? 10 : 1;
      if (e.key === 'ArrowLeft') this.moveBoundary(i, s.start - step);
      else if (e.key === 'ArrowRight') this.moveBoundary(i, s.start + step);
      else return;
      e.preventDefault();
      (this.track.querySelector(`[data-boundary="${i}"]`) as HTMLElement | null)?.focus();
    });
    h.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      h.setPointerCapture(e.pointerId);
      const rect = this.track.getBoundingClientRect();
      const move = (ev: PointerEvent): void => {
        const sample = ((ev.clientX - rect.left) / rect.width) * this.samples;
        const cur = this.subtasks[i]!;
        const prev = this.subtasks[i - 1]!;
        const clamped = Math.round(Math.max(prev.start + 2, Math.min(cur.end - 2, sample)));
        h.style.left = `${(100 * clamped) / this.samples}%`;
        h.dataset.pending = String(clamped);
      };
      const up = (): void => {
        h.removeEventListener('pointermove', move);
        h.removeEventListener('pointerup', up);
        const pending = h.dataset.pending;
        if (pending !== undefined) this.moveBoundary(i, Number(pending));
      };
      h.addEventListener('pointermove', move);
      h.addEventListener('pointerup', up);
    });
    return h;
  }
}

// Policies in the page: train behaviour cloning on a generated (or uploaded) dataset and
// evaluate the policy closed loop in the task's physics, both in the on-demand extras
// module's workers (extras.ts), so the page and its 1 MB main module stay as they are.
//
// Trained policies are kept in the page (safetensors bytes, a few hundred kB each) and
// listed; evaluations fill a table of success rates (with 95% intervals) per policy and
// variant, and list their episodes for replay in the scene. The settings (algorithm,
// epochs, seeds, evaluation variant and episodes) travel in share links as `p`.
import { showError } from './banner.ts';
import type { Core } from './core.ts';
import { download } from './download.ts';
import { evaluatePolicy, trainPolicy, type EvalResult, type EvaluationJob, type TrainingJob, type TrainProgress } from './extras.ts';
import { drawPlots } from './plot.ts';
import { renderStatus, status } from './status.ts';

const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Fill a `.progress` bar to `fraction` with `text` on it. */
function setBar(id: string, fraction: number, text: string): void {
  const bar = el(id);
  bar.setAttribute('aria-valuenow', String(Math.round(100 * fraction)));
  bar.querySelector<HTMLElement>('.fill')!.style.width = `${100 * fraction}%`;
  bar.querySelector('.progress-text')!.textContent = text;
}

/** A training source: a generated dataset or a file the user chose. */
export interface DataSource {
  id: string;
  label: string;
  dataset: Blob;
}

interface TrainedEntry {
  id: number;
  label: string;
  bytes: Uint8Array;
}

interface EvalEpisodeEntry {
  policy: number;
  variant: string;
  task: string;
  result: EvalResult;
  attempt: Uint8Array;
}

/** Evaluation episodes listed (and their rollouts kept for replay): the latest ones. */
const EPISODES_KEPT = 2000;
const VARIANT_LABEL: Record<string, string> = {
  static: 'static',
  dmg: 'dmg',
  moving_target: 'moving target',
  push: 'push',
  conveyor: 'conveyor',
};

export interface PolicyContext {
  /** Datasets of the last generation run. */
  generated(): DataSource[];
  /** The current task id, and the scene settings of the generation configuration that an
   * evaluation shares: `dynamics`, and `reset` and `geometry` when they are not the defaults. */
  task(): string;
  scene(): Record<string, unknown>;
  /** Workers to evaluate with. */
  workers(): number;
  /** Replay attempt bytes in the scene. */
  show(attempt: Uint8Array): void;
}

export class PolicyPanel {
  private uploaded: DataSource | null = null;
  private policies: TrainedEntry[] = [];
  private nextId = 1;
  private training: TrainingJob | null = null;
  private evaluating: EvaluationJob | null = null;
  private losses: { train: number[]; valid: number[] } = { train: [], valid: [] };
  /** Success counts per policy id and variant. */
  private table = new Map<number, Map<string, { k: number; n: number }>>();
  private episodes: EvalEpisodeEntry[] = [];
  /** TrainConfig fields without a control, as a share link set them. */
  private trainExtras: Record<string, unknown> = {};

  constructor(
    private readonly core: Core,
    private readonly ctx: PolicyContext,
  ) {
    el('train').addEventListener('click', () => void this.train());
    el('train-stop').addEventListener('click', () => this.training?.stop());
    el('evaluate').addEventListener('click', () => void this.evaluate());
    el('eval-stop').addEventListener('click', () => this.evaluating?.stop());
    el('download-policy').addEventListener('click', () => this.downloadPolicy());
    el('load-policy').addEventListener('click', () => el('policy-file').click());
    el<HTMLInputElement>('policy-data-file').addEventListener('change', (e) => {
      const f = (e.target as HTMLInputElement).files?.[0];
      if (!f) return;
      this.uploaded = { id: 'file', label: f.name, dataset: f };
      this.refreshSources('file');
    });
    el<HTMLInputElement>('policy-file').addEventListener('change', (e) => {
      const input = e.target as HTMLInputElement;
      const f = input.files?.[0];
      input.value = '';
      if (f) void this.addPolicyFile(f);
    });
    new ResizeObserver(() => this.drawLoss()).observe(el('loss-chart'));
    this.refreshSources();
    this.renderTable();
  }

  /** The policies trained or loaded in this page (tests compare their bytes). */
  get trained(): readonly { label: string; bytes: Uint8Array }[] {
    return this.policies;
  }

  /** Rebuild the "Train on" choices (after a generation run or an upload). */
  refreshSources(select?: string): void {
    const pick = el<HTMLSelectElement>('policy-data');
    const before = select ?? pick.value;
    pick.replaceChildren();
    const sources = this.sources();
    for (const s of sources) pick.append(new Option(s.label, s.id));
    if (sources.filter((s) => s.id !== 'file').length > 1) pick.append(new Option('Each generated dataset (compare)', 'each'));
    if (sources.length === 0) pick.append(new Option('Generate a dataset or choose a file', ''));
    pick.value = [...pick.options].some((o) => o.value === before) ? before : pick.options[0]!.value;
    el<HTMLButtonElement>('train').disabled = this.training !== null || sources.length === 0;
  }

  private sources(): DataSource[] {
    return [...this.ctx.generated(), ...(this.uploaded ? [this.uploaded] : [])];
  }

  private trainJson(): string {
    const epochs = Math.round(Number(el<HTMLInputElement>('policy-epochs').value));
    const seed = Math.round(Number(el<HTMLInputElement>('policy-seed').value));
    if (!Number.isFinite(epochs) || epochs < 1 || epochs > 10000) throw new Error('Epochs must be a number from 1 to 10000.');
    if (!Number.isFinite(seed) || seed < 0 || seed > 2 ** 32 - 1) throw new Error('The training seed must be a number from 0 to 4294967295.');
    return JSON.stringify({ ...this.trainExtras, algo: el<HTMLSelectElement>('policy-algo').value, epochs, seed });
  }

  private evalJson(): string {
    const episodes = Math.round(Number(el<HTMLInputElement>('eval-episodes').value));
    const seed = Math.round(Number(el<HTMLInputElement>('eval-seed').value));
    if (!Number.isFinite(episodes) || episodes < 1 || episodes > 10000) throw new Error('Evaluation episodes must be a number from 1 to 10000.');
    if (!Number.isFinite(seed) || seed < 0) throw new Error('The evaluation seed must be a number from 0.');
    return JSON.stringify({ task: this.ctx.task(), variant: el<HTMLSelectElement>('eval-variant').value, ...this.ctx.scene(), episodes, seed });
  }

  /** The settings for a share link (`{"train", "eval"}` JSON, canonical), or throws. */
  settings(): string {
    return this.core.policy_settings_canonical(JSON.stringify({ train: JSON.parse(this.trainJson()), eval: JSON.parse(this.evalJson()) }));
  }

  /**
   * The settings for a share link, or null while every control is at its default (links
   * of configurations that never touched the policy panel stay as they were).
   */
  linkSettings(): string | null {
    const current = this.settings();
    // The core's defaults, with the page's own task and scene (they are not settings).
    const defaults = this.core.policy_settings_canonical(JSON.stringify({ eval: { task: this.ctx.task(), ...this.ctx.scene() } }));
    return current === defaults ? null : current;
  }

  /** Apply a share link's settings (canonical JSON from the core). */
  applySettings(json: string): void {
    const p = JSON.parse(json) as { train: Record<string, unknown>; eval: Record<string, unknown> };
    const { algo, epochs, seed, ...rest } = p.train;
    this.trainExtras = rest;
    el<HTMLSelectElement>('policy-algo').value = String(algo);
    el<HTMLInputElement>('policy-epochs').value = String(epochs);
    el<HTMLInputElement>('policy-seed').value = String(seed);
    el<HTMLSelectElement>('eval-variant').value = String(p.eval.variant);
    el<HTMLInputElement>('eval-episodes').value = String(p.eval.episodes);
    el<HTMLInputElement>('eval-seed').value = String(p.eval.seed);
  }

  async train(): Promise<void> {
    if (this.training) return;
    let settings: string;
    try {
      settings = this.trainJson();
    } catch (e) {
      showError('Check the training settings.', errorText(e), 'train-error');
      return;
    }
    const choice = el<HTMLSelectElement>('policy-data').value;
    const all = this.sources();
    const chosen = choice === 'each' ? all.filter((s) => s.id !== 'file') : all.filter((s) => s.id === choice);
    if (chosen.length === 0) {
      showError('Nothing to train on.', 'Generate a dataset first, or choose a robomimic HDF5 file.', 'train-error');
      return;
    }
    const algo = el<HTMLSelectElement>('policy-algo').value;
    el<HTMLButtonElement>('train').disabled = true;
    el<HTMLButtonElement>('train-stop').disabled = false;
    status.policy.training = true;
    renderStatus();
    try {
      for (const source of chosen) {
        this.losses = { train: [], valid: [] };
        this.drawLoss();
        const job = trainPolicy(source.dataset, settings, (p, seconds) => this.showProgress(source.label, p, seconds));
        this.training = job;
        let trained;
        try {
          trained = await job.done;
        } catch (e) {
          showError(`Training on ${source.label} failed; the datasets and the policies trained before are kept.`, errorText(e), 'train-error');
          break;
        }
        this.showProgress(source.label, trained.progress, trained.seconds);
        const entry: TrainedEntry = {
          id: this.nextId++,
          label: `${algo === 'bc_rnn' ? 'BC-RNN' : 'BC'} on ${source.label}${trained.stopped ? ` (stopped at epoch ${trained.progress.epoch})` : ''}`,
          bytes: trained.bytes,
        };
        this.policies.push(entry);
        status.policy.policies = this.policies.length;
        status.policy.lastTrainSeconds = trained.seconds;
        status.policy.trainMemoryBytes = trained.memoryBytes;
        status.policy.lastTrainSamplesPerSecond = trained.progress.samples / Math.max(1e-9, trained.seconds);
        this.refreshPolicies(entry.id);
        if (trained.stopped) break;
      }
    } finally {
      this.training = null;
      status.policy.training = false;
      el<HTMLButtonElement>('train-stop').disabled = true;
      this.refreshSources();
      renderStatus();
    }
  }

  private showProgress(label: string, p: TrainProgress, seconds: number): void {
    if (p.train_loss !== null && this.losses.train.length < p.epoch) {
      this.losses.train.push(p.train_loss);
      this.losses.valid.push(p.valid_loss ?? Number.NaN);
      this.drawLoss();
    }
    setBar('train-progress', p.epochs > 0 ? p.epoch / p.epochs : 0, `${p.epoch}/${p.epochs} epochs`);
    const loss = p.train_loss === null ? '' : ` · loss ${p.train_loss.toFixed(4)}${p.valid_loss === null ? '' : ` (validation ${p.valid_loss.toFixed(4)})`}`;
    el('train-stats').textContent = `${label}: ${p.steps} steps, ${Math.round(p.samples / Math.max(seconds, 1e-9))} samples/s${loss}`;
    status.policy.epoch = p.epoch;
    status.policy.epochs = p.epochs;
    status.policy.trainLoss = p.train_loss;
  }

  private drawLoss(): void {
    const canvas = el<HTMLCanvasElement>('loss-chart');
    if (this.losses.train.length === 0) {
      canvas.getContext('2d')?.clearRect(0, 0, canvas.width, canvas.height);
      return;
    }
    drawPlots(canvas, [
      {
        title: 'loss per epoch (training, validation dashed)',
        series: [
          { label: 'training', colour: '#2f6fdf', values: this.losses.train },
          { label: 'validation', colour: '#d9822b', dash: [4, 3], values: this.losses.valid },
        ],
      },
    ]);
  }

  private refreshPolicies(select?: number): void {
    const pick = el<HTMLSelectElement>('policy-pick');
    const before = select !== undefined ? String(select) : pick.value;
    pick.replaceChildren();
    for (const p of this.policies) pick.append(new Option(p.label, String(p.id)));
    if (this.policies.length > 1) pick.append(new Option('Every policy (compare)', 'all'));
    if (this.policies.length === 0) pick.append(new Option('Train or load a policy first', ''));
    pick.value = [...pick.options].some((o) => o.value === before) ? before : pick.options[0]!.value;
    el<HTMLButtonElement>('evaluate').disabled = this.evaluating !== null || this.policies.length === 0;
    el<HTMLButtonElement>('download-policy').disabled = this.policies.length === 0;
  }

  private async addPolicyFile(f: File): Promise<void> {
    if (f.size > 256 * 1024 * 1024) {
      showError('That policy file is too large.', `It has ${f.size} bytes; a policy file from this tool is a few MB at most.`, 'policy-error');
      return;
    }
    const bytes = new Uint8Array(await f.arrayBuffer());
    // Checked when it is evaluated (the extras module reads it); here only its header.
    if (bytes.length < 8) {
      showError('That is not a policy file.', `"${f.name}" is ${bytes.length} bytes long; expected a .safetensors file written by dmgen train or this page.`, 'policy-error');
      return;
    }
    const entry = { id: this.nextId++, label: f.name, bytes };
    this.policies.push(entry);
    status.policy.policies = this.policies.length;
    this.refreshPolicies(entry.id);
    renderStatus();
  }

  downloadPolicy(): void {
    const id = el<HTMLSelectElement>('policy-pick').value;
    const p = this.policies.find((x) => String(x.id) === id) ?? this.policies.at(-1);
    if (!p) return;
    const name = p.label.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/_+$/, '');
    download(new Blob([p.bytes as BlobPart]), `${name}.safetensors`, 'application/octet-stream');
  }

  async evaluate(): Promise<void> {
    if (this.evaluating) return;
    let settings: string;
    try {
      settings = this.evalJson();
      this.core.policy_settings_canonical(JSON.stringify({ eval: JSON.parse(settings) }));
    } catch (e) {
      showError('Check the evaluation settings.', errorText(e), 'eval-error');
      return;
    }
    const id = el<HTMLSelectElement>('policy-pick').value;
    const chosen = id === 'all' ? this.policies : this.policies.filter((p) => String(p.id) === id);
    if (chosen.length === 0) return;
    const { variant, episodes, task } = JSON.parse(settings) as { variant: string; episodes: number; task: string };
    el<HTMLButtonElement>('evaluate').disabled = true;
    el<HTMLButtonElement>('eval-stop').disabled = false;
    status.policy.evaluating = true;
    renderStatus();
    const total = episodes * chosen.length;
    let finished = 0;
    try {
      for (const p of chosen) {
        const counts = { k: 0, n: 0 };
        const row = this.table.get(p.id) ?? new Map();
        row.set(variant, counts);
        this.table.set(p.id, row);
        const job = evaluatePolicy(p.bytes, settings, episodes, this.ctx.workers(), (result, attempt) => {
          counts.n++;
          counts.k += result.success ? 1 : 0;
          finished++;
          this.episodes.push({ policy: p.id, variant, task, result, attempt });
          if (this.episodes.length > EPISODES_KEPT) this.episodes.splice(0, this.episodes.length - EPISODES_KEPT);
          this.showEvalProgress(finished, total);
          this.renderTable();
        });
        this.evaluating = job;
        let outcome;
        try {
          outcome = await job.done;
        } catch (e) {
          showError(`Evaluating ${p.label} failed; the results so far are kept.`, errorText(e), 'eval-error');
          break;
        }
        status.policy.lastEval = { policy: p.label, variant, episodes: counts.n, successes: counts.k, seconds: outcome.seconds };
        if (outcome.stopped) break;
      }
    } finally {
      this.evaluating = null;
      status.policy.evaluating = false;
      el<HTMLButtonElement>('eval-stop').disabled = true;
      this.refreshPolicies();
      this.renderTable();
      this.renderEpisodes();
      renderStatus();
    }
  }

  private showEvalProgress(done: number, total: number): void {
    setBar('eval-progress', total > 0 ? done / total : 0, `${done}/${total} episodes`);
  }

  /** Success rate per policy (rows) and variant (columns), with 95% intervals. */
  private renderTable(): void {
    const table = el<HTMLTableElement>('eval-table');
    const variants = [...new Set([...this.table.values()].flatMap((r) => [...r.keys()]))];
    table.replaceChildren();
    table.hidden = variants.length === 0;
    if (variants.length === 0) return;
    const head = table.createTHead().insertRow();
    const corner = document.createElement('th');
    corner.textContent = 'Policy';
    head.append(corner);
    for (const v of variants) {
      const th = document.createElement('th');
      th.textContent = VARIANT_LABEL[v] ?? v;
      head.append(th);
    }
    const body = table.createTBody();
    for (const p of this.policies) {
      const row = this.table.get(p.id);
      if (!row) continue;
      const tr = body.insertRow();
      const name = document.createElement('th');
      name.textContent = p.label;
      tr.append(name);
      for (const v of variants) {
        const td = tr.insertCell();
        const c = row.get(v);
        if (!c || c.n === 0) {
          td.textContent = '–';
          continue;
        }
        const [lo, hi] = this.core.success_interval(c.k, c.n);
        const bar = document.createElement('span');
        bar.className = 'rate-bar';
        bar.style.setProperty('--rate', String(c.k / c.n));
        td.append(bar, document.createTextNode(`${Math.round((100 * c.k) / c.n)}% [${Math.round(100 * lo!)}, ${Math.round(100 * hi!)}] of ${c.n}`));
        td.dataset.rate = String(c.k / c.n);
      }
    }
  }

  private renderEpisodes(): void {
    const list = el('eval-results');
    list.replaceChildren();
    const last = this.episodes.slice(-200).sort((a, b) => a.policy - b.policy || a.result.index - b.result.index);
    for (const e of last) {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      const name = this.policies.find((p) => p.id === e.policy)?.label ?? 'policy';
      button.textContent = `${name} · ${VARIANT_LABEL[e.variant] ?? e.variant} · #${e.result.index} ${e.result.success ? 'success' : (e.result.failure ?? 'failed').replaceAll('_', ' ')}`;
      li.dataset.success = String(e.result.success);
      button.addEventListener('click', () => {
        if (e.task !== this.ctx.task()) {
          showError('This rollout belongs to another task.', `It was evaluated on "${e.task}"; switch the demo back to that task to replay it.`, 'episode-error');
          return;
        }
        this.ctx.show(e.attempt);
      });
      li.append(button);
      list.append(li);
    }
  }
}

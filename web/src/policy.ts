// Policies in the page: train a policy (chunked BC, Diffusion Policy, BC or BC-RNN) on a
// generated (or uploaded) dataset and evaluate it closed loop in the task's physics, both
// in the on-demand extras module's workers (extras.ts), so the page and its 1 MB main
// module stay as they are.
//
// Training draws its learning curve: the loss against gradient steps (log scale) and the
// success of validation rollouts at four checkpoints; the best checkpoint and the final
// policy are both kept. Trained policies are kept in the page (safetensors bytes) and
// listed; evaluations fill a table of success rates (with 95% intervals) per policy and
// variant, the funnel of how far the episodes got, and a list of rollouts to replay in
// the scene. The settings (algorithm, steps, seeds, evaluation variant and episodes)
// travel in share links as `p`.
import { showError } from './banner.ts';
import type { Core } from './core.ts';
import { download } from './download.ts';
import { evaluatePolicy, trainPolicy, type EvalResult, type EvaluationJob, type TrainingJob, type TrainProgress, type ValidationPoint } from './extras.ts';
import { drawCurve } from './plot.ts';
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
/** The validation scenes' seed (generation's default is 0, evaluation's 1,000,000). */
const VALIDATION_SEED = 2_000_000;
/** Validation checkpoints over a training run. */
const CHECKPOINTS = 4;

/** Each algorithm's recipe: its default budget and what it is. */
const RECIPES: Record<string, { steps: number; label: string; text: string }> = {
  bc_chunk: {
    steps: 5000,
    label: 'Chunked BC',
    text: 'Default. An MLP (3 x 512) from the last 2 observations to the next 16 target poses; 8 are executed before it predicts again. Features of the hand and objects in, absolute 6-D targets out, cosine learning rate. About 4-8 minutes for 200 stack episodes here.',
  },
  diffusion: {
    steps: 2500,
    label: 'Diffusion Policy',
    text: "Diffusion Policy for low-dim observations: the same windows, each 16-pose chunk drawn from noise in 10 DDIM steps by a FiLM-conditioned MLP denoiser; averaged weights (EMA). The best policy measured here (stack: 94% at 1,250 steps), about twice chunked BC's time per step: 2,500 steps take about 5 minutes for 200 stack episodes; give Mug Cleanup 5,000.",
  },
  bc: { steps: 5000, label: 'BC', text: "robomimic's BC: an MLP (1024 x 1024) from one observation to one action." },
  bc_rnn: { steps: 2000, label: 'BC-RNN', text: "robomimic's BC-RNN: an LSTM (2 x 400) over 10-step sequences with a 5-mode GMM head." },
};

const VARIANT_LABEL: Record<string, string> = {
  static: 'static',
  dmg: 'dmg',
  moving_target: 'moving target',
  push: 'push',
  conveyor: 'conveyor',
};

/** Counts of an evaluation cell: episodes, successes and each funnel stage reached. */
interface Cell {
  k: number;
  n: number;
  stages: string[];
  reached: number[];
}

export interface PolicyContext {
  /** Datasets of the last generation run. */
  generated(): DataSource[];
  /** The current task id, and the scene settings of the generation configuration that an
   * evaluation shares: `dynamics`, and `reset` and `geometry` when they are not the defaults. */
  task(): string;
  scene(): Record<string, unknown>;
  /** Workers to evaluate with. */
  workers(): number;
  /** Replay attempt bytes in the scene, captioned. */
  show(attempt: Uint8Array, caption: string): void;
}

export class PolicyPanel {
  private uploaded: DataSource | null = null;
  private policies: TrainedEntry[] = [];
  private nextId = 1;
  private training: TrainingJob | null = null;
  private evaluating: EvaluationJob | null = null;
  /** The learning curve of the run in progress (or the last one). */
  private losses: { steps: number[]; train: number[]; valid: number[] } = { steps: [], train: [], valid: [] };
  private validation: ValidationPoint[] = [];
  private totalSteps = 0;
  /** Success and funnel counts per policy id and variant. */
  private table = new Map<number, Map<string, Cell>>();
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
    el('eval-filter').addEventListener('change', () => this.renderEpisodes());
    el('policy-algo').addEventListener('change', () => {
      const r = RECIPES[el<HTMLSelectElement>('policy-algo').value];
      if (r) el<HTMLInputElement>('policy-steps').value = String(r.steps);
      this.showRecipe();
    });
    this.showRecipe();
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

  private showRecipe(): void {
    const r = RECIPES[el<HTMLSelectElement>('policy-algo').value];
    el('policy-recipe').textContent = r?.text ?? '';
  }

  private trainJson(): string {
    const steps = Math.round(Number(el<HTMLInputElement>('policy-steps').value));
    const seed = Math.round(Number(el<HTMLInputElement>('policy-seed').value));
    if (!Number.isFinite(steps) || steps < 1 || steps > 1_000_000) throw new Error('Training steps must be a number from 1 to 1000000.');
    if (!Number.isFinite(seed) || seed < 0 || seed > 2 ** 32 - 1) throw new Error('The training seed must be a number from 0 to 4294967295.');
    return JSON.stringify({ ...this.trainExtras, algo: el<HTMLSelectElement>('policy-algo').value, steps, seed });
  }

  /** Validation rollouts of a training run (null when switched off). */
  private validationPlan(steps: number): { every: number; episodes: number; eval: string } | null {
    const episodes = Math.round(Number(el<HTMLInputElement>('policy-validate').value));
    if (!Number.isFinite(episodes) || episodes < 0 || episodes > 200) throw new Error('Validation episodes must be a number from 0 to 200.');
    if (episodes === 0) return null;
    const evalJson = JSON.stringify({ task: this.ctx.task(), variant: el<HTMLSelectElement>('eval-variant').value, ...this.ctx.scene(), episodes, seed: VALIDATION_SEED });
    return { every: Math.max(1, Math.ceil(steps / CHECKPOINTS)), episodes, eval: evalJson };
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
    const { algo, steps, seed, ...rest } = p.train;
    this.trainExtras = rest;
    el<HTMLSelectElement>('policy-algo').value = String(algo);
    el<HTMLInputElement>('policy-steps').value = String(steps);
    el<HTMLInputElement>('policy-seed').value = String(seed);
    this.showRecipe();
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
    let plan;
    try {
      plan = this.validationPlan(Number(JSON.parse(settings).steps));
    } catch (e) {
      showError('Check the training settings.', errorText(e), 'train-error');
      return;
    }
    el<HTMLButtonElement>('train').disabled = true;
    el<HTMLButtonElement>('train-stop').disabled = false;
    status.policy.training = true;
    renderStatus();
    try {
      for (const source of chosen) {
        this.losses = { steps: [], train: [], valid: [] };
        this.validation = [];
        this.drawLoss();
        const job = trainPolicy(
          source.dataset,
          settings,
          plan,
          (p, seconds) => this.showProgress(source.label, p, seconds),
          (v) => {
            this.validation.push(v);
            this.drawLoss();
          },
        );
        this.training = job;
        let trained;
        try {
          trained = await job.done;
        } catch (e) {
          showError(`Training on ${source.label} failed; the datasets and the policies trained before are kept.`, errorText(e), 'train-error');
          break;
        }
        this.showProgress(source.label, trained.progress, trained.seconds);
        const name = `${RECIPES[algo]?.label ?? algo} on ${source.label}`;
        const steps = trained.progress.steps;
        const entry: TrainedEntry = {
          id: this.nextId++,
          label: `${name}${trained.stopped ? ` (stopped at step ${steps})` : `, ${steps} steps`}`,
          bytes: trained.bytes,
        };
        this.policies.push(entry);
        if (trained.best && trained.bestSteps !== steps) {
          const best = this.validation.find((v) => v.steps === trained.bestSteps);
          const score = best ? `, ${best.successes}/${best.episodes} in validation` : '';
          this.policies.push({ id: this.nextId++, label: `${name}, best checkpoint (step ${trained.bestSteps}${score})`, bytes: trained.best });
        }
        status.policy.policies = this.policies.length;
        status.policy.validation = this.validation.map((v) => ({ ...v }));
        status.policy.bestSteps = trained.bestSteps;
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
    this.totalSteps = p.total_steps;
    if (p.train_loss !== null && this.losses.train.length < p.points) {
      this.losses.steps.push(p.steps);
      this.losses.train.push(p.train_loss);
      this.losses.valid.push(p.valid_loss ?? Number.NaN);
      this.drawLoss();
    }
    const eta = p.steps > 0 && !p.done ? ` · ${Math.round((seconds * (p.total_steps - p.steps)) / p.steps)} s left` : '';
    setBar('train-progress', p.total_steps > 0 ? p.steps / p.total_steps : 0, `${p.steps}/${p.total_steps} steps${eta}`);
    const loss = p.train_loss === null ? '' : ` · loss ${p.train_loss.toPrecision(3)}${p.valid_loss === null ? '' : ` (held-out ${p.valid_loss.toPrecision(3)})`}`;
    el('train-stats').textContent = `${label}: ${p.epoch.toFixed(1)} passes over the data, ${Math.round(p.samples / Math.max(seconds, 1e-9))} samples/s${loss}`;
    status.policy.steps = p.steps;
    status.policy.totalSteps = p.total_steps;
    status.policy.trainLoss = p.train_loss;
    status.policy.lossPoints = this.losses.train.length;
  }

  private drawLoss(): void {
    drawCurve(el<HTMLCanvasElement>('loss-chart'), {
      totalSteps: this.totalSteps,
      steps: this.losses.steps,
      train: this.losses.train,
      valid: this.losses.valid,
      validation: this.validation.map((v) => ({ steps: v.steps, rate: v.successes / Math.max(1, v.episodes), label: `${v.successes}/${v.episodes}` })),
    });
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
        const counts: Cell = { k: 0, n: 0, stages: [], reached: [] };
        const row = this.table.get(p.id) ?? new Map<string, Cell>();
        row.set(variant, counts);
        this.table.set(p.id, row);
        const job = evaluatePolicy(
          p.bytes,
          settings,
          episodes,
          this.ctx.workers(),
          (result, attempt) => {
            counts.n++;
            counts.k += result.success ? 1 : 0;
            for (let i = 0; i < Math.min(result.reached, counts.reached.length); i++) counts.reached[i]!++;
            finished++;
            this.episodes.push({ policy: p.id, variant, task, result, attempt });
            if (this.episodes.length > EPISODES_KEPT) this.episodes.splice(0, this.episodes.length - EPISODES_KEPT);
            this.showEvalProgress(finished, total);
            this.renderTable();
            this.renderFunnel();
          },
          (stages) => {
            if (counts.stages.length === 0) {
              counts.stages = stages;
              counts.reached = stages.map(() => 0);
            }
          },
        );
        this.evaluating = job;
        let outcome;
        try {
          outcome = await job.done;
        } catch (e) {
          showError(`Evaluating ${p.label} failed; the results so far are kept.`, errorText(e), 'eval-error');
          break;
        }
        status.policy.lastEval = {
          policy: p.label,
          variant,
          episodes: counts.n,
          successes: counts.k,
          seconds: outcome.seconds,
          funnel: counts.stages.map((name, i) => [name, counts.reached[i]!] as [string, number]),
        };
        if (outcome.stopped) break;
      }
    } finally {
      this.evaluating = null;
      status.policy.evaluating = false;
      el<HTMLButtonElement>('eval-stop').disabled = true;
      this.refreshPolicies();
      this.renderTable();
      this.renderFunnel();
      this.renderEpisodes();
      renderStatus();
    }
  }

  /** How far the episodes of each evaluated policy and variant got: every funnel stage. */
  private renderFunnel(): void {
    const host = el('eval-funnel');
    host.replaceChildren();
    let any = false;
    for (const p of this.policies) {
      const row = this.table.get(p.id);
      if (!row) continue;
      for (const [variant, c] of row) {
        if (c.n === 0 || c.stages.length === 0) continue;
        any = true;
        const h = document.createElement('h3');
        h.textContent = `${p.label} · ${VARIANT_LABEL[variant] ?? variant}: how far ${c.n} episodes got`;
        host.append(h);
        c.stages.forEach((name, i) => {
          const k = c.reached[i] ?? 0;
          const d = document.createElement('div');
          d.className = 'stage';
          const label = document.createElement('span');
          label.className = 'name';
          label.textContent = name;
          const bar = document.createElement('span');
          bar.className = 'bar';
          bar.style.setProperty('--frac', String(k / c.n));
          const count = document.createElement('span');
          count.textContent = `${k} of ${c.n}`;
          d.dataset.stage = name;
          d.dataset.count = String(k);
          d.append(label, bar, count);
          host.append(d);
        });
      }
    }
    host.hidden = !any;
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

  /** What an episode did, in words: success, or how far it got and why it failed. */
  private outcome(e: EvalEpisodeEntry): string {
    if (e.result.success) return 'success';
    const cell = this.table.get(e.policy)?.get(e.variant);
    const stage = e.result.reached > 0 ? cell?.stages[e.result.reached - 1] : undefined;
    const why = (e.result.failure ?? 'failed').replaceAll('_', ' ');
    return stage ? `${why} after "${stage}"` : `${why}, nothing reached`;
  }

  private renderEpisodes(): void {
    const list = el('eval-results');
    list.replaceChildren();
    const filter = el<HTMLSelectElement>('eval-filter').value;
    const shown = this.episodes
      .filter((e) => filter === 'all' || (filter === 'success') === e.result.success)
      .slice(-200)
      .sort((a, b) => a.policy - b.policy || a.result.index - b.result.index);
    for (const e of shown) {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      const name = this.policies.find((p) => p.id === e.policy)?.label ?? 'policy';
      const scene = `${VARIANT_LABEL[e.variant] ?? e.variant} scene #${e.result.index}${e.result.dynamic ? ' (objects moved)' : ''}`;
      const outcome = this.outcome(e);
      button.textContent = `${name} · ${scene} · ${outcome}`;
      button.title = 'Replay this rollout in the scene';
      li.dataset.success = String(e.result.success);
      button.addEventListener('click', () => {
        if (e.task !== this.ctx.task()) {
          showError('This rollout belongs to another task.', `It was evaluated on "${e.task}"; switch the demo back to that task to replay it.`, 'episode-error');
          return;
        }
        this.ctx.show(e.attempt, `${name} · ${scene} · ${outcome}`);
      });
      li.append(button);
      list.append(li);
    }
  }
}

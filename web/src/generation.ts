// Generation in the worker pool: runs one job per method (D-MG, MimicGen or
// both), assembles each dataset in the page in index order (the bytes equal
// the CLI's for the same configuration, whatever the worker count), and shows
// progress, rates, ETA, failure reasons, a per-method comparison and the
// episode list. "Stop" keeps what finished.
//
// Memory stays bounded however long the run: the file streams out of the core
// episode by episode into a file in the origin-private file system (or Blobs
// where there is none; see sink.ts), and the episode list keeps no episode data;
// replaying an episode that is no longer cached runs its attempt again, which
// gives the same episode (attempts depend only on configuration, demo and index).
import { showError } from './banner.ts';
import { download } from './download.ts';
import { lerobotZip } from './extras.ts';
import type { Core } from './core.ts';
import type { JobDemo } from './demo.ts';
import type { AttemptResult, WorkerPool } from './pool.ts';
import { drawRateChart, emptyStats, eta, formatSeconds, rate, record, type MethodStats } from './progress.ts';
import { openSink, removeOldFiles, type DatasetSink } from './sink.ts';
import { renderStatus, status } from './status.ts';

export type MethodId = 'dmg' | 'mimicgen';

export interface JobPlan {
  method: MethodId;
  /** GenerationConfig JSON. */
  config: string;
}

interface Finished {
  method: MethodId;
  config: string;
  dataset: Blob | null;
  /** The failed attempts' file, when "Keep failed attempts" was on. */
  failed: Blob | null;
  stats: string;
  kept: number;
}

export interface EpisodeEntry {
  method: MethodId;
  index: number;
  success: boolean;
  failure: string;
}

/** What regenerates a run's attempts for replay. */
interface RunSource {
  config: string;
  demo: Uint8Array | null;
  demoName: string;
  demoJson: string | null;
}

/** Attempts whose bytes stay cached for instant replay (the most recent ones). */
const REPLAY_CACHE = 24;
/** Fastest refresh of the progress display while a run streams results (ms). */
const UPDATE_MS = 200;
/** Episodes per page of the results list. */
const RESULTS_PAGE = 200;

const LABEL: Record<MethodId, string> = { dmg: 'D-MG', mimicgen: 'MimicGen' };
const COLOUR: Record<MethodId, string> = { dmg: '#2f6fd6', mimicgen: '#9a9fa8' };
const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

export class GenerationPanel {
  private stats = new Map<MethodId, MethodStats>();
  private finished: Finished[] = [];
  private episodes: EpisodeEntry[] = [];
  private sources = new Map<MethodId, RunSource>();
  private replayCache = new Map<string, Uint8Array>();
  private replayers = new Map<MethodId, InstanceType<Core['Generator']>>();
  /** Page of the results list on show (0-based), over the filtered entries. */
  private page = 0;
  /** Entries per page of the results list: a long run lists thousands of episodes. */
  pageSize = RESULTS_PAGE;
  private nextUpdate: (() => void) | null = null;
  private updateTimer: number | null = null;
  private stopCurrent: (() => void) | null = null;
  private stopRequested = false;
  /** Replay a generated episode in the scene. */
  onShowEpisode: ((e: EpisodeEntry) => void) | null = null;
  /** A run started (its datasets are gone) or finished (`datasets()` has its files). */
  onDatasetsChange: (() => void) | null = null;

  constructor(
    private readonly core: Core,
    private readonly pool: () => Promise<WorkerPool>,
  ) {
    el('stop').addEventListener('click', () => this.stop());
    el('download').addEventListener('click', () => this.downloadDataset());
    el('download-lerobot').addEventListener('click', () => void this.downloadLeRobot());
    el('download-failed').addEventListener('click', () => {
      const f = this.finished.find((x) => x.method === this.primary()?.method && x.failed);
      if (f?.failed) download(f.failed, `dmgen_${f.method}_failed.hdf5`, 'application/x-hdf5');
    });
    el('download-config').addEventListener('click', () => {
      const f = this.primary();
      if (f) download(f.config, `dmgen_${f.method}_config.json`, 'application/json');
    });
    el('download-stats').addEventListener('click', () => {
      const f = this.primary();
      if (f) download(this.statsJson(), `dmgen_${f.method}_stats.json`, 'application/json');
    });
    el('result-filter').addEventListener('change', () => {
      this.page = 0;
      this.renderResults();
    });
    el('results-prev').addEventListener('click', () => this.turnPage(-1));
    el('results-next').addEventListener('click', () => this.turnPage(1));
    new ResizeObserver(() => this.drawChart()).observe(el('rate-chart'));
  }

  get running(): boolean {
    return this.stopCurrent !== null || status.generating;
  }

  stop(): void {
    this.stopRequested = true;
    this.stopCurrent?.();
  }

  private primary(): Finished | undefined {
    return this.finished.find((f) => f.method === 'dmg' && f.dataset) ?? this.finished.find((f) => f.dataset);
  }

  /** The last run's datasets, one per method that kept episodes. */
  datasets(): { method: MethodId; label: string; dataset: Blob; kept: number; config: string }[] {
    return this.finished.flatMap((f) => (f.dataset ? [{ method: f.method, label: LABEL[f.method], dataset: f.dataset, kept: f.kept, config: f.config }] : []));
  }

  downloadDataset(): void {
    const f = this.primary();
    if (!f?.dataset) return;
    download(f.dataset, `dmgen_${f.method}_${f.kept}.hdf5`, 'application/x-hdf5');
  }

  /** The primary dataset converted to LeRobot v3.0 by the on-demand module, as a zip. */
  async downloadLeRobot(): Promise<void> {
    const f = this.primary();
    if (!f?.dataset) return;
    const button = el<HTMLButtonElement>('download-lerobot');
    const root = `dmgen_${f.method}_${f.kept}_lerobot`;
    button.disabled = true;
    status.exporting = true;
    renderStatus();
    try {
      const { zip, seconds } = await lerobotZip(f.dataset, root);
      status.lastExport = { format: 'lerobot', bytes: zip.size, seconds };
      download(zip, `${root}.zip`, 'application/zip');
    } catch (e) {
      showError('The LeRobot export failed; the robomimic dataset is still available.', e instanceof Error ? e.message : String(e), 'export-error');
    } finally {
      status.exporting = false;
      button.disabled = this.primary() === undefined;
      renderStatus();
    }
  }

  /** The attempt bytes of a listed episode: cached, or regenerated on this thread. */
  episodeBytes(e: EpisodeEntry): Uint8Array {
    const key = `${e.method}:${e.index}`;
    const hit = this.replayCache.get(key);
    if (hit) return hit;
    let gen = this.replayers.get(e.method);
    if (!gen) {
      const src = this.sources.get(e.method);
      if (!src) throw new Error('this episode belongs to a run that is no longer loaded');
      gen = new this.core.Generator(src.config, src.demo ?? new Uint8Array(0), src.demoName, src.demoJson ?? undefined);
      this.replayers.set(e.method, gen);
    }
    const bytes = gen.attempt(e.index);
    this.remember(key, bytes);
    return bytes;
  }

  /** The listed episodes of the last run, in arrival order. */
  get listed(): readonly EpisodeEntry[] {
    return this.episodes;
  }

  /** Forget cached attempt bytes (replays then regenerate them). */
  dropReplayCache(): void {
    this.replayCache.clear();
  }

  private remember(key: string, bytes: Uint8Array): void {
    this.replayCache.delete(key);
    this.replayCache.set(key, bytes);
    while (this.replayCache.size > REPLAY_CACHE) this.replayCache.delete(this.replayCache.keys().next().value!);
  }

  private forgetRuns(): void {
    for (const g of this.replayers.values()) g.free();
    this.replayers.clear();
    this.replayCache.clear();
    this.sources.clear();
  }

  private statsJson(): string {
    const perMethod = this.finished.map((f) => ({ method: f.method, kept: f.kept, core: JSON.parse(f.stats) as unknown }));
    return JSON.stringify({ runs: perMethod }, null, 2);
  }

  /** Run `plans` one after the other; `demo` is the uploaded file or null for the built-in demo. */
  async run(plans: JobPlan[], file: JobDemo, wanted: number, keepFailed = false): Promise<void> {
    const { bytes: demo, name: demoName, json: demoJson } = file;
    if (this.running) return;
    this.stats.clear();
    this.finished = [];
    this.episodes = [];
    this.page = 0;
    this.forgetRuns();
    this.stopRequested = false;
    this.onDatasetsChange?.();
    this.renderResults();
    for (const b of ['download', 'download-lerobot', 'download-failed', 'download-config', 'download-stats'])
      el<HTMLButtonElement>(b).disabled = true;
    el<HTMLButtonElement>('generate').disabled = true;
    el<HTMLButtonElement>('stop').disabled = false;
    status.generating = true;
    status.datasetReady = false;
    status.progress = 0;
    status.attempts = 0;
    status.successes = 0;
    status.lastConfig = plans[0]?.config ?? null;
    status.workerRestarts = 0;
    renderStatus();
    const t0 = performance.now();
    const totalWanted = wanted * plans.length;
    let keptBefore = 0;
    try {
      // The previous run's files (its datasets were just dropped from the page).
      await removeOldFiles();
      const pool = await this.pool();
      for (const plan of plans) {
        if (this.stopRequested) break;
        let assembler: InstanceType<Core['DatasetAssembler']>;
        let budget: number;
        try {
          budget = this.core.attempt_budget(plan.config);
          assembler = new this.core.DatasetAssembler(plan.config);
        } catch (e) {
          showError(`The ${LABEL[plan.method]} configuration was refused.`, e instanceof Error ? e.message : String(e), 'generate-error');
          break;
        }
        const stats = emptyStats();
        this.stats.set(plan.method, stats);
        this.sources.set(plan.method, { config: plan.config, demo, demoName, demoJson });
        // The file so far, outside wasm memory.
        const sink: DatasetSink = await openSink(plan.method);
        status.datasetSink = sink.kind;
        // Failed attempts, in a second file of the same layout, when asked for.
        let failedSink: DatasetSink | null = null;
        if (keepFailed) {
          assembler.keep_failed(plan.config);
          failedSink = await openSink(`${plan.method}_failed`);
        }
        let kept = 0;
        let failed: string | null = null;
        const handle = pool.start(
          { config: plan.config, demo, demoName, demoJson },
          { wanted, maxAttempts: budget },
          {
            onResult: (r: AttemptResult) => {
              if (failed) return;
              try {
                assembler.push(r.bytes);
                sink.append(assembler.take_output());
                if (sink.error) throw new Error(sink.error);
                if (failedSink) {
                  failedSink.append(assembler.take_failed_output());
                  if (failedSink.error) throw new Error(failedSink.error);
                }
              } catch (e) {
                failed = e instanceof Error ? e.message : String(e);
                handle.stop();
                return;
              }
              record(stats, r.success, r.failure);
              if (r.success) kept++;
              this.remember(`${plan.method}:${r.index}`, r.bytes);
              this.episodes.push({ method: plan.method, index: r.index, success: r.success, failure: r.failure });
              this.scheduleUpdate(keptBefore + kept, totalWanted, t0);
            },
          },
        );
        this.stopCurrent = handle.stop;
        const summary = await handle.done;
        this.stopCurrent = null;
        status.workerRestarts += summary.restarts;
        if (summary.error) showError(`${LABEL[plan.method]} generation failed.`, summary.error, 'generate-error');
        if (failed) showError(`${LABEL[plan.method]}: an episode could not be added to the dataset.`, failed, 'generate-error');
        if (summary.exhausted)
          showError(
            `${LABEL[plan.method]}: the attempt budget ran out.`,
            `${kept} of ${wanted} episodes succeeded in ${summary.attempts} attempts; the dataset keeps those.`,
            'generate-budget',
          );
        const statsText = assembler.stats_json();
        let dataset: Blob | null = null;
        let failedFile: Blob | null = null;
        try {
          if (failedSink) {
            const rest = assembler.finish_failed();
            if (kept < summary.attempts) failedFile = await failedSink.finish(assembler.failed_header(), rest);
          }
          if (kept > 0) {
            const rest = assembler.finish();
            dataset = await sink.finish(assembler.header(), rest);
          }
        } catch (e) {
          showError(`${LABEL[plan.method]}: the dataset could not be written.`, e instanceof Error ? e.message : String(e), 'generate-error');
        } finally {
          assembler.free();
          if (!dataset) await sink.discard();
          if (failedSink && !failedFile) await failedSink.discard();
        }
        this.finished.push({ method: plan.method, config: plan.config, dataset, failed: failedFile, stats: statsText, kept });
        keptBefore += wanted;
      }
    } catch (e) {
      showError('Generation failed.', e instanceof Error ? e.message : String(e), 'generate-error');
    } finally {
      this.stopCurrent = null;
      status.generating = false;
      el<HTMLButtonElement>('generate').disabled = false;
      el<HTMLButtonElement>('stop').disabled = true;
      const ok = this.primary() !== undefined;
      el<HTMLButtonElement>('download').disabled = !ok;
      el<HTMLButtonElement>('download-lerobot').disabled = !ok;
      el<HTMLButtonElement>('download-failed').disabled = !this.finished.some((f) => f.failed && f.method === this.primary()?.method);
      el<HTMLButtonElement>('download-config').disabled = !ok;
      el<HTMLButtonElement>('download-stats').disabled = this.finished.length === 0;
      status.datasetReady = ok;
      status.generationSeconds = (performance.now() - t0) / 1000;
      this.onDatasetsChange?.();
      this.flushUpdate();
      this.update(this.stopRequested ? -1 : totalWanted, totalWanted, t0);
      renderStatus();
    }
  }

  private update(done: number, total: number, t0: number): void {
    const elapsed = (performance.now() - t0) / 1000;
    let attempts = 0;
    let successes = 0;
    for (const s of this.stats.values()) {
      attempts += s.attempts;
      successes += s.successes;
    }
    if (done < 0) done = Math.min(total, successes);
    const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
    const bar = el('progress');
    bar.setAttribute('aria-valuenow', pct.toFixed(0));
    (bar.querySelector('.fill') as HTMLElement).style.width = `${pct}%`;
    (bar.querySelector('.progress-text') as HTMLElement).textContent = `${pct.toFixed(0)}%`;
    const lines = [
      `${successes} kept of ${attempts} attempts · ${(attempts / Math.max(elapsed, 1e-3)).toFixed(2)} episodes/s · ETA ${formatSeconds(status.generating ? eta(done, total, elapsed) : 0)}`,
    ];
    for (const [m, s] of this.stats) lines.push(`${LABEL[m]} success rate: ${(100 * rate(s)).toFixed(1)}% (${s.successes}/${s.attempts})`);
    el('gen-stats').textContent = lines.join('\n');
    const failures = new Map<string, number>();
    for (const [m, s] of this.stats) for (const [k, v] of s.failures) failures.set(`${LABEL[m]}: ${k}`, v);
    el('failures').replaceChildren(
      ...[...failures].map(([k, v]) => {
        const li = document.createElement('li');
        li.textContent = `${k} × ${v}`;
        return li;
      }),
    );
    status.progress = pct;
    status.attempts = attempts;
    status.successes = successes;
    this.drawChart();
    renderStatus();
  }

  private drawChart(): void {
    drawRateChart(
      el('rate-chart'),
      [...this.stats].map(([m, s]) => ({ label: LABEL[m], value: rate(s), colour: COLOUR[m] })),
    );
  }

  private entryNode(e: EpisodeEntry): HTMLLIElement {
    const li = document.createElement('li');
    li.dataset.success = String(e.success);
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = `${LABEL[e.method]} #${e.index} ${e.success ? '✓ success' : `✗ ${e.failure}`}`;
    b.addEventListener('click', () => this.onShowEpisode?.(e));
    li.append(b);
    return li;
  }

  private visible(e: EpisodeEntry): boolean {
    const f = el<HTMLSelectElement>('result-filter').value;
    return f === 'all' || (f === 'success') === e.success;
  }

  /**
   * Progress, chart and list updates at most every UPDATE_MS while results stream in:
   * the page's thread shares the cores with the workers.
   */
  private scheduleUpdate(done: number, total: number, t0: number): void {
    this.nextUpdate = () => this.update(done, total, t0);
    if (this.updateTimer === null) this.updateTimer = window.setTimeout(() => this.flushUpdate(), UPDATE_MS);
  }

  private flushUpdate(): void {
    if (this.updateTimer !== null) window.clearTimeout(this.updateTimer);
    this.updateTimer = null;
    this.appendResults();
    const next = this.nextUpdate;
    this.nextUpdate = null;
    next?.();
  }

  private filtered(): EpisodeEntry[] {
    return this.episodes.filter((e) => this.visible(e));
  }

  /** The list shows one page of the filtered entries; the pager says which. */
  private renderResults(): void {
    const all = this.filtered();
    const pages = Math.max(1, Math.ceil(all.length / this.pageSize));
    this.page = Math.min(Math.max(0, this.page), pages - 1);
    const start = this.page * this.pageSize;
    el('results').replaceChildren(...all.slice(start, start + this.pageSize).map((e) => this.entryNode(e)));
    this.renderPager(all.length);
  }

  /** While a run streams in: fill the page on show with what arrived, update the pager. */
  private appendResults(): void {
    const all = this.filtered();
    const list = el('results');
    const start = this.page * this.pageSize;
    const from = start + list.childElementCount;
    const to = Math.min(all.length, start + this.pageSize);
    if (from < to) list.append(...all.slice(from, to).map((e) => this.entryNode(e)));
    this.renderPager(all.length);
  }

  private turnPage(delta: number): void {
    this.page += delta;
    this.renderResults();
  }

  private renderPager(count: number): void {
    const pager = el('results-pager');
    pager.hidden = count <= this.pageSize && this.page === 0;
    const start = this.page * this.pageSize;
    el('results-range').textContent =
      count === 0 ? 'no episodes' : `${start + 1}-${Math.min(count, start + this.pageSize)} of ${count}`;
    el<HTMLButtonElement>('results-prev').disabled = this.page === 0;
    el<HTMLButtonElement>('results-next').disabled = start + this.pageSize >= count;
  }
}

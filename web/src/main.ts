// Page bootstrap: check the browser, load the core, then wire the scene, the
// demo panel, scene editing, preview and generation together.
import { showError, showFatal } from './banner.ts';
import { missingCapabilities } from './capabilities.ts';
import { compileCore, coreMemoryBytes, fetchBuiltinDemos, loadCore, type BuiltinDemos, type Core } from './core.ts';
import { TaskEditor } from './taskeditor.ts';
import { DemoPanel } from './demo.ts';
import { EpisodeBar } from './episode.ts';
import { installSteps } from './steps.ts';
import { GenerationPanel, type JobPlan, type MethodId } from './generation.ts';
import { installShortcuts } from './help.ts';
import { decodeLink, encodeLink, linkUrl, type DecodedLink } from './link.ts';
import { PolicyPanel } from './policy.ts';
import { defaultWorkerCount, WorkerPool } from './pool.ts';
import { SceneView } from './scene.ts';
import { RecordPanel } from './record.ts';
import { renderStatus, status } from './status.ts';

let scene: SceneView | null = null;
let pool: WorkerPool | null = null;

const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function onPanic(message: string, where: string): void {
  if (!status.panicked) {
    status.panicked = true;
    status.panicMessage = message;
  }
  scene?.stop();
  showError(
    `The simulation core crashed (${where}).`,
    `${message}\nReload the page to start again. Files you downloaded are safe.`,
    'panic-banner',
  );
  renderStatus();
}

globalThis.__dmgenOnPanic = (message: string) => onPanic(message, 'page');

function requestedWorkers(): number {
  const raw = new URLSearchParams(location.search).get('workers');
  const n = raw === null ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(n) && n >= 1 && n <= 32 ? n : defaultWorkerCount();
}

function startPool(module: WebAssembly.Module, demos: BuiltinDemos, size: number): WorkerPool {
  pool?.terminate();
  status.workersTotal = size;
  status.workersReady = 0;
  status.workerVersions = [];
  renderStatus();
  const p = new WorkerPool(module, demos, size, {
    onReadyChange: (ready, total) => {
      if (pool !== p) return;
      status.workersReady = ready;
      status.workersTotal = total;
      renderStatus();
      if (ready === total && status.workerVersions.length === 0) {
        p.ping()
          .then((versions) => {
            if (pool !== p) return;
            status.workerVersions = versions;
            el('worker-detail').textContent = `${versions.length} workers ready (core ${versions[0] ?? '?'}).`;
          })
          .catch((e: unknown) => showError('A worker did not answer.', String(e)));
      }
    },
    onWorkerError: (index, message, panicked) => {
      if (panicked) showError(`Worker ${index + 1} crashed; it was replaced.`, message, `worker-panic-${index}`);
      else showError(`Worker ${index + 1} reported an error.`, message, `worker-error-${index}`);
    },
  });
  pool = p;
  return p;
}

function numberInput(id: string, lo: number, hi: number, name: string): number {
  const v = Number(el<HTMLInputElement>(id).value);
  if (!Number.isFinite(v) || v < lo || v > hi) throw new Error(`${name} must be a number from ${lo} to ${hi}.`);
  return v;
}

/**
 * Configuration fields the page has no control for, as a restored share link set them
 * (kept so that the page's configuration, and a link copied again, equal the link's).
 */
let linkExtras: { dynamics: Record<string, unknown>; rest: Record<string, unknown>; cameras: Record<string, unknown> } = {
  dynamics: {},
  rest: {},
  cameras: {},
};

/** The GenerationConfig the page's controls describe, for `method`. */
function buildConfig(core: Core, demo: DemoPanel, method: MethodId): string {
  const task = status.taskId ?? 'stack';
  const episodes = Math.round(numberInput('episodes', 1, 10000, 'Episodes'));
  const seed = Math.round(numberInput('gen-seed', 0, 2 ** 32 - 1, 'Seed'));
  const speed = numberInput('speed', 0, 1, 'Object speed');
  const probability = numberInput('probability', 0, 1, 'Dynamic episodes');
  const belt = numberInput('belt-speed', 0, 0.2, 'Conveyor belt speed');
  const noise = numberInput('action-noise', 0, 1, 'Action noise');
  const src = demo.source;
  // An uploaded file is pinned by its SHA-256 (and which demo of an HDF5 file it is).
  const demoRef = !src.bytes
    ? { kind: 'builtin', id: task }
    : { kind: 'sha256', sha256: core.sha256_hex(src.bytes), name: src.name, ...(src.index > 0 ? { index: src.index } : {}) };
  const config: Record<string, unknown> = {
    ...linkExtras.rest,
    task,
    // A task from a task file travels with the configuration (and its links).
    custom_task: demo.customTask ? JSON.parse(demo.customTask) : undefined,
    variant: el<HTMLSelectElement>('variant').value,
    dynamics: { axes: ['x', 'y'], active_fraction: 0.5, ...linkExtras.dynamics, speed_mps: speed, probability, belt_speed_mps: belt },
    method,
    episodes,
    seed,
    dmp: demo.dmp,
    segmentation: demo.segmentation,
    demo: demoRef,
    // Noise on the sent actions makes data a policy learns from (docs/policy.md); the
    // page's default is MimicGen's 0.05, the core's 0.
    assists: { ...(linkExtras.rest.assists as Record<string, unknown> | undefined), action_noise: noise },
  };
  if (!demo.customTask) delete config.custom_task;
  // Delta actions are the default and stay out of the configuration (and its links).
  if (el<HTMLSelectElement>('actions').value === 'abs') config.actions = 'abs';
  else delete config.actions;
  // The reset level likewise: only when it is not the task's own (d0).
  const reset = el<HTMLSelectElement>('reset-level').value;
  if (reset !== 'd0') config.reset = reset;
  else delete config.reset;
  // Cameras likewise: only when some are on (a link's size and depth settings are kept).
  const cameras = el<HTMLSelectElement>('cameras').value;
  if (cameras) config.cameras = { ...linkExtras.cameras, names: cameras.split(',') };
  else delete config.cameras;
  return JSON.stringify(config, null, 2);
}

async function main(): Promise<void> {
  const missing = missingCapabilities();
  if (missing) {
    status.fatal = missing;
    showFatal(missing);
    renderStatus();
    return;
  }
  renderStatus();

  let core: Core;
  try {
    core = await loadCore();
  } catch (e) {
    const msg = errorText(e);
    status.fatal = msg;
    showFatal(`The simulation core could not be loaded: ${msg}. Reload the page to try again.`);
    renderStatus();
    return;
  }
  window.__dmgenCore = core;
  window.__dmgenWasmMemoryBytes = coreMemoryBytes;
  status.coreReady = true;
  status.coreVersion = core.version();
  renderStatus();

  const initialTask = new URLSearchParams(location.search).get('task') ?? 'stack';
  const canvas = el<HTMLCanvasElement>('scene');
  let demo: DemoPanel | null = null;
  let recorder: RecordPanel | null = null;
  let episodeBar: EpisodeBar | null = null;
  try {
    scene = new SceneView(core, canvas, core.task_ids().includes(initialTask) ? initialTask : 'stack', {
      onFrame: (frames, camera) => {
        status.camera = camera;
        status.framesDrawn = frames;
        if (!status.viewerReady && frames > 0) {
          status.viewerReady = true;
          status.readyAtMs = performance.now();
        }
        demo?.tick();
        recorder?.tick();
        episodeBar?.tick();
        previewTick();
      },
    });
  } catch (e) {
    const msg = errorText(e);
    status.fatal = msg;
    showFatal(`The 3D view could not start: ${msg}`);
    renderStatus();
    return;
  }
  const pg = scene.playground;
  window.__dmgenPlayground = pg;
  demo = new DemoPanel(core, pg);
  new TaskEditor(pg, demo);
  const demoPanel = demo;
  const rec = new RecordPanel(pg, demoPanel);
  recorder = rec;
  const episodes = new EpisodeBar(pg, () => {
    pg.show_scene();
    scene!.wake();
  });
  episodeBar = episodes;
  window.__dmgenEpisodes = episodes;
  const showEpisode = (attempt: Uint8Array, caption: string, what: string): void => {
    try {
      episodes.show(attempt, caption);
      scene!.wake();
    } catch (err) {
      showError(`${what} could not be replayed.`, errorText(err), 'episode-error');
    }
  };
  window.__dmgenRecorder = {
    key: (code, down) => rec.key(code, down),
    steps: (n) => pg.record_steps(n),
  };

  // Scene editing.
  let sceneSeed = 0;
  const randomize = (): void => {
    sceneSeed = (sceneSeed + 1) >>> 0;
    pg.randomize(sceneSeed);
    status.sceneSeed = sceneSeed;
    el('scene-seed').textContent = `seed ${sceneSeed}`;
  };
  el('randomize').addEventListener('click', randomize);
  // Reset levels: the menu offers the levels the task has (MimicGen's D1/D2 where it
  // publishes them); a new level re-draws the scene.
  const resetSelect = el<HTMLSelectElement>('reset-level');
  const syncResetLevels = (): void => {
    const levels = core.task_reset_levels(pg.task_id());
    for (const o of [...resetSelect.options]) o.disabled = !levels.includes(o.value);
    if (!levels.includes(resetSelect.value)) resetSelect.value = 'd0';
    pg.set_reset_level(resetSelect.value);
    status.resetLevel = resetSelect.value;
  };
  resetSelect.addEventListener('change', () => {
    syncResetLevels();
    randomize();
  });
  syncResetLevels();
  // A new task (or demo) starts from the task's own ranges: apply the chosen level again.
  demoPanel.onChange = syncResetLevels;

  // Preview: one rollout of the current configuration in the visible scene.
  const outcome = el('preview-outcome');
  let previewWasRunning = false;
  function previewTick(): void {
    const running = pg.preview_running();
    status.previewRunning = running;
    if (running) status.previewSteps = pg.preview_steps();
    if (previewWasRunning && !running) {
      const result = pg.preview_outcome() ?? 'stopped';
      status.previewOutcome = result;
      outcome.hidden = false;
      outcome.dataset.ok = String(result === 'success');
      outcome.textContent = result === 'success' ? 'Preview: success' : `Preview failed: ${result.replaceAll('_', ' ')}`;
      demoPanel.drawPlot();
    }
    previewWasRunning = running;
  }
  const preview = (): void => {
    try {
      const src = demoPanel.jobDemo();
      pg.start_preview(buildConfig(core, demoPanel, 'dmg'), src.bytes ?? new Uint8Array(0), src.name, src.json ?? undefined);
      status.previewOutcome = null;
      outcome.hidden = false;
      outcome.dataset.ok = '';
      outcome.textContent = 'Preview running: drag objects while the robot moves';
    } catch (e) {
      showError('The preview could not start.', errorText(e), 'preview-error');
    }
  };
  el('preview').addEventListener('click', preview);

  // Workers and generation.
  const module = await compileCore();
  const demos = await fetchBuiltinDemos();
  const countInput = el<HTMLInputElement>('worker-count');
  countInput.value = String(requestedWorkers());
  startPool(module, demos, requestedWorkers());
  const poolFor = async (): Promise<WorkerPool> => {
    const n = Math.round(numberInput('worker-count', 1, 32, 'Workers'));
    if (!pool || pool.size !== n) startPool(module, demos, n);
    return pool!;
  };
  const generation = new GenerationPanel(core, poolFor);
  window.__dmgenGeneration = generation;
  generation.onShowEpisode = (e) => {
    let bytes: Uint8Array;
    try {
      bytes = generation.episodeBytes(e);
    } catch (err) {
      showError(`Episode ${e.index} could not be replayed.`, errorText(err), 'episode-error');
      return;
    }
    const what = e.method === 'dmg' ? 'D-MG' : 'MimicGen';
    showEpisode(bytes, `${what} attempt #${e.index} · ${e.success ? 'success' : (e.failure ?? 'failed').replaceAll('_', ' ')}`, `Episode ${e.index}`);
  };
  const policyPanel = new PolicyPanel(core, {
    generated: () =>
      generation.datasets().map((d) => ({ id: d.method, label: `${d.label} dataset (${d.kept} episodes)`, dataset: d.dataset })),
    task: () => status.taskId ?? 'stack',
    scene: () => {
      // What an evaluation shares with generation: its dynamics, reset level and geometry.
      // A task file's task too: evaluation runs in it.
      const { dynamics, reset, geometry, custom_task } = JSON.parse(buildConfig(core, demoPanel, 'dmg')) as Record<string, unknown>;
      return { dynamics, ...(reset ? { reset } : {}), ...(geometry ? { geometry } : {}), ...(custom_task ? { custom_task } : {}) };
    },
    workers: () => Math.round(numberInput('worker-count', 1, 32, 'Workers')),
    show: (attempt, caption) => showEpisode(attempt, caption, 'This rollout'),
  });
  generation.onDatasetsChange = () => policyPanel.refreshSources();
  window.__dmgenPolicy = policyPanel;
  const generate = (): void => {
    if (generation.running) return;
    const choice = el<HTMLSelectElement>('method').value;
    const methods: MethodId[] = choice === 'both' ? ['dmg', 'mimicgen'] : [choice as MethodId];
    let plans: JobPlan[];
    try {
      plans = methods.map((m) => ({ method: m, config: buildConfig(core, demoPanel, m) }));
      numberInput('worker-count', 1, 32, 'Workers');
    } catch (e) {
      showError('Check the generation settings.', errorText(e), 'generate-error');
      return;
    }
    const wanted = Math.round(Number(el<HTMLInputElement>('episodes').value));
    const src = demoPanel.jobDemo();
    void generation.run(plans, src, wanted, el<HTMLInputElement>('keep-failed').checked);
  };
  el('generate').addEventListener('click', generate);

  // Share links: "Copy link" writes the configuration into the address's '#' part;
  // opening such an address restores it (nothing from a link is shown as HTML).
  const shareInput = el<HTMLInputElement>('share-link');
  const shareNote = el('share-note');
  const copyLink = async (): Promise<void> => {
    let url: string;
    try {
      const choice = el<HTMLSelectElement>('method').value;
      const config = buildConfig(core, demoPanel, choice === 'mimicgen' ? 'mimicgen' : 'dmg');
      const src = demoPanel.source;
      url = linkUrl(encodeLink(core, config, src.bytes, policyPanel.linkSettings()));
    } catch (e) {
      showError('The link could not be made.', errorText(e), 'link-error');
      return;
    }
    history.replaceState(null, '', url);
    shareInput.value = url;
    status.shareLink = url;
    const both = el<HTMLSelectElement>('method').value === 'both' ? ' It describes the D-MG run (a link holds one method).' : '';
    try {
      await navigator.clipboard.writeText(url);
      shareNote.textContent = `Link copied to the clipboard (${url.length} characters).${both}`;
    } catch {
      shareNote.textContent = `The clipboard is not available here: select the link above and copy it.${both}`;
    }
    renderStatus();
  };
  el('copy-link').addEventListener('click', () => void copyLink());

  interface LinkConfig {
    task: string;
    custom_task?: Record<string, unknown>;
    variant: string;
    dynamics: Record<string, unknown> & { speed_mps: number; probability: number; belt_speed_mps: number };
    method: string;
    episodes: number;
    seed: number;
    dmp: { bases: number; alpha: number; goal_filter_alpha: number; scaling: string };
    segmentation: { boundaries: number[]; objects: (string | null)[] };
    demo: { kind: 'builtin'; id: string } | { kind: 'sha256'; sha256: string; name: string; index?: number } | { kind: 'embedded' };
    cameras?: { names?: string[]; [key: string]: unknown };
    [key: string]: unknown;
  }
  const restoreLink = (link: string): void => {
    let d: DecodedLink;
    try {
      d = decodeLink(core, link);
    } catch (e) {
      showError('This share link could not be opened; the page keeps its current settings.', errorText(e), 'link-error');
      return;
    }
    document.getElementById('link-error')?.remove();
    const cfg = JSON.parse(d.config) as LinkConfig;
    const { task, custom_task, variant, dynamics, method, episodes, seed, dmp, segmentation, demo, actions, cameras, reset, ...rest } = cfg;
    // A link's own task: loaded like a task file (on error the page keeps its task).
    const setTask = (id: string): void => {
      if (custom_task) demoPanel.loadTask(JSON.stringify(custom_task), "This link's task");
      else demoPanel.setTask(id);
    };
    const { speed_mps, probability, belt_speed_mps, ...dynamicsRest } = dynamics;
    const { names: cameraNames = [], ...camerasRest } = cameras ?? {};
    linkExtras = { dynamics: dynamicsRest, rest, cameras: camerasRest };
    el<HTMLInputElement>('action-noise').value = String((rest.assists as { action_noise?: number } | undefined)?.action_noise ?? 0);
    const cameraSelect = el<HTMLSelectElement>('cameras');
    cameraSelect.value = cameraNames.join(',');
    if (cameraSelect.value !== cameraNames.join(',')) {
      // An order or set the menu does not list: add it, so the link's choice is kept.
      cameraSelect.add(new Option(cameraNames.join(' and '), cameraNames.join(',')));
      cameraSelect.value = cameraNames.join(',');
    }
    el<HTMLSelectElement>('variant').value = variant;
    el<HTMLSelectElement>('reset-level').value = typeof reset === 'string' ? reset : 'd0';
    el<HTMLSelectElement>('actions').value = actions === 'abs' ? 'abs' : 'delta';
    el<HTMLInputElement>('speed').value = String(speed_mps);
    el<HTMLInputElement>('probability').value = String(probability);
    el<HTMLInputElement>('belt-speed').value = String(belt_speed_mps);
    el<HTMLSelectElement>('method').value = method;
    el<HTMLInputElement>('episodes').value = String(episodes);
    el<HTMLInputElement>('gen-seed').value = String(seed);
    const applyEdits = (): void => {
      try {
        demoPanel.setDmp(dmp);
        demoPanel.setSegmentation(segmentation);
      } catch (e) {
        showError("The link's segmentation or DMP settings do not fit this demo; the automatic ones are used.", errorText(e), 'link-error');
        return;
      }
      status.linksRestored++;
      renderStatus();
    };
    if (demo.kind === 'builtin') {
      setTask(task);
      if (demo.id !== task) {
        showError('This link uses another task\'s built-in demo.', `It names the demo "${demo.id}" for the task "${task}"; the page shows the task's own demo.`, 'link-error');
      }
      applyEdits();
    } else if (demo.kind === 'sha256') {
      if (d.demo) {
        void demoPanel.loadFile(d.demo, demo.name, demo.index ?? 0).then((loaded) => {
          if (loaded) applyEdits();
        });
      } else {
        setTask(task);
        demoPanel.expectLinkDemo(demo.sha256, demo.name, demo.index ?? 0, applyEdits);
        const prompt = showError(
          'This link was made with an uploaded demo file that is not inside the link.',
          `Upload "${demo.name}" (SHA-256 ${demo.sha256.slice(0, 16)}…) to restore the linked configuration; the file is checked before it is used.`,
          'link-demo-prompt',
        );
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = 'Upload the linked demo';
        button.addEventListener('click', () => el('demo-file').click());
        prompt.element.querySelector('.text')?.append(document.createElement('br'), button);
      }
    } else {
      setTask(task);
      showError(
        'This link carries its demo inline, which the page cannot show.',
        'Generate from it with `dmgen generate --url`, or upload the demo file and choose the demo again.',
        'link-error',
      );
    }
    if (d.policy) policyPanel.applySettings(d.policy);
    shareInput.value = linkUrl(location.hash);
  };
  const restoreFromAddress = (): void => {
    if (location.hash.length > 1) restoreLink(location.href);
  };
  window.addEventListener('hashchange', restoreFromAddress);
  restoreFromAddress();
  window.__dmgenPool = () => pool;
  installSteps();

  installShortcuts(
    [
      { key: 'u', label: 'Upload demo', run: () => el('upload-demo').click() },
      {
        key: ' ',
        label: 'Play / pause the replay (Space): the episode shown, else the demo',
        run: () => (pg.episode_step() >= 0 ? episodes.togglePlay() : demoPanel.togglePlay()),
      },
      { key: 'r', label: 'Randomize the scene', run: randomize },
      { key: 'p', label: 'Preview one rollout', run: preview },
      { key: 'g', label: 'Generate', run: generate },
      { key: 's', label: 'Stop generation', run: () => generation.stop() },
      { key: 'd', label: 'Download dataset', run: () => generation.downloadDataset() },
      { key: 'a', label: 'Reset segmentation to automatic', run: () => demoPanel.resetSegmentation() },
      { key: 'Escape', label: 'Close this help', run: () => undefined },
      { key: '?', label: 'Show or hide this help', run: () => undefined },
    ],
    el('help'),
  );
}

main().catch((e: unknown) => {
  showError('The page failed to start.', errorText(e));
});
